"""The near cache (performance/nearcache.py) against the real Redis: what it saves, and that every
change made anywhere — another connection, a script, expiry, a flush — is seen by the next read."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any
from unittest import mock

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from django_redis import get_redis_connection

from performance import metrics
from performance.caches import MISSING, named_cache, named_caches_get
from performance.nearcache import NearCache, near_cache_for
from performance.stats import cache_stats_list
from sms.tests.test_webhook_budget import redis_round_trips

pytestmark = pytest.mark.skipif(
    "redis" not in str(caches["default"].__class__).lower(), reason="the near cache exists only over Redis"
)


def _client() -> Any:
    """django-redis's client behind the default cache (make_key, encode)."""
    backend: Any = caches["default"]
    return backend.client


def _other_client() -> redis.Redis:
    """A connection of its own, as another process would have: not the cache's pool."""
    kwargs = get_redis_connection("default").connection_pool.connection_kwargs
    return redis.Redis(host=kwargs["host"], port=kwargs["port"], db=kwargs["db"])


def _full_key(name: str, key: str) -> str:
    return str(_client().make_key(f"nc:{name}:{key}"))


def _local_hits(name: str) -> float:
    return metrics.sample_total(metrics.sample_name(metrics.CACHE_LOCAL_HITS), {"cache": name}, metrics.read_registry())


def test_a_repeated_read_costs_no_round_trip_and_counts_as_a_local_hit() -> None:
    nc = named_cache("near_repeat", ttl=60)
    nc.set("a", (1, True, False))
    assert nc.get("a") == (1, True, False)  # from Redis, kept
    before = nc.stats()
    local_before = _local_hits("near_repeat")
    with redis_round_trips() as sent:
        for _ in range(5):
            assert nc.get("a") == (1, True, False)
    assert sent == []
    assert nc.stats()["hits"] - before["hits"] == 5  # still hits of the named cache
    assert _local_hits("near_repeat") - local_before == 5
    with mock.patch("performance.stats.registered_caches", return_value={"near_repeat": nc}):
        listed = {c["name"]: c for c in cache_stats_list()}["near_repeat"]
    assert listed["local_hits"] == 5 and listed["hits"] == 6  # the performance pages and API show it


def test_a_miss_is_kept_too_until_the_key_appears() -> None:
    nc = named_cache("near_miss", ttl=60)
    assert nc.get("nobody") is MISSING
    with redis_round_trips() as sent:
        assert nc.get("nobody") is MISSING
    assert sent == []
    _other_client().set(_full_key("near_miss", "nobody"), _client().encode(7))
    assert nc.get("nobody") == 7


def test_every_change_from_another_connection_is_seen_by_the_next_read() -> None:
    """Write, overwrite, delete and expire from a connection outside the cache's pool, then read
    at once, many times over: never the old value."""
    nc = named_cache("near_strict", ttl=60)
    other = _other_client()
    key = _full_key("near_strict", "k")
    encode = _client().encode
    for i in range(300):
        other.set(key, encode(i))
        assert nc.get("k") == i
        assert nc.get("k") == i  # now from the copy
    other.delete(key)
    assert nc.get("k") is MISSING
    other.set(key, encode("short"), px=50)
    assert nc.get("k") == "short"
    time.sleep(0.3)
    other.get(key)  # the read that makes Redis notice the expiry, as any client's would
    assert nc.get("k") is MISSING


def test_a_change_by_a_script_and_by_another_process_is_seen() -> None:
    nc = named_cache("near_script", ttl=60)
    key = _full_key("near_script", "k")
    encode = _client().encode
    nc.set("k", "before")
    assert nc.get("k") == "before"
    _other_client().eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, key, encode("by script"))
    assert nc.get("k") == "by script"
    kwargs = get_redis_connection("default").connection_pool.connection_kwargs
    code = (
        "import redis, sys; r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), db=int(sys.argv[3]));"
        "r.set(sys.argv[4], bytes.fromhex(sys.argv[5]))"
    )
    value = encode("by another process").hex()
    args = [kwargs["host"], str(kwargs["port"]), str(kwargs["db"]), key, value]
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    assert nc.get("k") == "by another process"


def test_a_flush_empties_the_copy() -> None:
    nc = named_cache("near_flush", ttl=60)
    nc.set("k", 1)
    assert nc.get("k") == 1
    _other_client().flushdb()
    assert nc.get("k") is MISSING


def test_own_writes_are_seen_at_once() -> None:
    a, b = named_cache("near_own_a", ttl=60), named_cache("near_own_b", ttl=60)
    a.set("k", 1)
    b.set("k", 2)
    assert named_caches_get((a, "k"), (b, "k")) == [1, 2]
    a.set("k", 3)
    assert named_caches_get((a, "k"), (b, "k")) == [3, 2]
    b.delete("k")
    assert named_caches_get((a, "k"), (b, "k")) == [3, MISSING]
    assert b.add("k", 4) is True
    assert named_caches_get((a, "k"), (b, "k")) == [3, 4]
    a.clear()
    assert named_caches_get((a, "k"), (b, "k")) == [MISSING, 4]


def test_an_answer_invalidated_while_in_flight_is_not_kept() -> None:
    near = near_cache_for(caches["default"])
    assert near is not None
    nc = named_cache("near_flight", ttl=60)
    key = _full_key("near_flight", "k")
    values, generation = near.get([key])
    assert values is None and generation >= 0
    nc.set("k", "new")  # another thread's write lands between this read's MGET and its put
    near.put([key], ["old"], generation)
    assert nc.get("k") == "new"


def test_a_lost_tracking_connection_empties_the_copy_and_reads_go_to_redis_until_it_is_back() -> None:
    nc = named_cache("near_lost", ttl=60)
    nc.set("k", 1)
    assert nc.get("k") == 1
    near = near_cache_for(caches["default"])
    assert near is not None and len(near) > 0
    other = _other_client()
    tracking = [c for c in other.client_list() if "t" in c["flags"]]
    assert tracking, "no tracking connection"
    for client in tracking:
        other.client_kill_filter(_id=client["id"])
    time.sleep(0.05)
    with redis_round_trips() as sent:
        assert nc.get("k") == 1  # the copy is gone with its connection: this one asks Redis
    assert [c.split(b"\r\n")[2].upper() for c in sent] == [b"MGET"]
    assert len(near) == 0
    other.set(_full_key("near_lost", "k"), _client().encode(2))
    assert nc.get("k") == 2
    near._retry_at = 0  # the once-a-second reconnect, without waiting for it
    assert nc.get("k") == 2
    with redis_round_trips() as sent:
        assert nc.get("k") == 2
    assert sent == []


def test_entries_age_out_and_the_oldest_go_first() -> None:
    near = NearCache(_client(), max_entries=3, max_age=0.2)
    try:
        values, generation = near.get(["x"])
        assert values is None
        near.put(["a", "b", "c", "d"], [1, 2, 3, 4], generation)
        assert near.get(["a"])[0] is None  # the oldest went when a fourth came
        assert near.get(["b", "c", "d"])[0] == [2, 3, 4]
        time.sleep(0.3)
        assert near.get(["d"])[0] is None
    finally:
        near.close()


def test_a_server_without_tracking_turns_it_off_and_reads_go_to_redis(caplog: Any) -> None:
    near = NearCache(_client(), max_entries=10, max_age=60)
    real = redis.connection.AbstractConnection.send_command

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        if args[:2] == ("CLIENT", "TRACKING"):
            args = ("CLIENT", "NO-SUCH-SUBCOMMAND")
        real(self, *args, **kwargs)

    redis.connection.AbstractConnection.send_command = refuse  # type: ignore[method-assign]
    try:
        assert near.get(["k"]) == (None, -1)
    finally:
        redis.connection.AbstractConnection.send_command = real  # type: ignore[method-assign]
    assert near.get(["k"]) == (None, -1)  # off for good in this process, not retried
    assert "refused CLIENT TRACKING" in caplog.text


@override_settings(CACHE_NEAR=False)
def test_off_means_every_read_asks_redis() -> None:
    caches["default"].__dict__.pop("_near_cache", None)
    nc = named_cache("near_off", ttl=60)
    nc.set("k", 1)
    assert nc.get("k") == 1
    with redis_round_trips() as sent:
        assert nc.get("k") == 1
    assert [c.split(b"\r\n")[2].upper() for c in sent] == [b"MGET"]
