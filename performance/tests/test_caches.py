from __future__ import annotations

import pytest
from django.core.cache import cache

from performance.caches import MISSING, named_cache


def test_named_cache_counts_hits_misses_and_sets() -> None:
    nc = named_cache("test_counts", ttl=60)
    before = nc.stats()
    assert nc.get("a") is MISSING
    nc.set("a", {"user_id": 1})
    assert nc.get("a") == {"user_id": 1}
    assert nc.get("a") == {"user_id": 1}
    after = nc.stats()
    assert after["misses"] - before["misses"] == 1
    assert after["hits"] - before["hits"] == 2
    assert after["sets"] - before["sets"] == 1


def test_named_cache_stores_negative_results() -> None:
    nc = named_cache("test_negative", ttl=60)
    nc.set("unknown", None)
    assert nc.get("unknown") is None


def test_named_cache_keys_are_namespaced_and_expire_with_ttl() -> None:
    nc = named_cache("test_ns", ttl=60)
    nc.set("k", 1)
    assert cache.get("nc:test_ns:k") == 1
    assert 0 < cache.ttl("nc:test_ns:k") <= 60  # type: ignore[attr-defined]
    nc.delete("k")
    assert cache.get("nc:test_ns:k") is None


def test_same_name_returns_same_cache_and_conflicting_ttl_is_refused() -> None:
    assert named_cache("test_same", ttl=5) is named_cache("test_same", ttl=5)
    with pytest.raises(ValueError):
        named_cache("test_same", ttl=6)


def test_backend_failure_is_a_counted_miss(settings) -> None:
    settings.CACHES = {
        "down": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
        "default": settings.CACHES["default"],
    }
    nc = named_cache("test_down", ttl=60, alias="down")
    assert nc.get("x") is MISSING
    assert nc.set("x", 1) is False
    assert nc.stats()["errors"] >= 2


def test_in_process_cache_counts_and_clears_one_named_cache(settings) -> None:
    settings.CACHES = {
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "test-nc-local"},
        "default": settings.CACHES["default"],
    }
    nc = named_cache("test_local_a", ttl=60, alias="local")
    other = named_cache("test_local_b", ttl=60, alias="local")
    nc.set("1", 1)
    nc.set("2", 2)
    other.set("1", 1)
    assert nc.live_entries() == 2
    assert nc.clear() == 2
    assert nc.live_entries() == 0
    assert other.get("1") == 1
