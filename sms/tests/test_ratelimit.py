from __future__ import annotations

import pytest

from sms.ratelimit import rate_limit_hit, rate_limit_key, rate_limit_reset

NUMBER = "+14155550100"


@pytest.fixture
def locmem(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl-test"}}


@pytest.mark.parametrize("backend", ["redis", "locmem"])
def test_window_counts_to_the_limit_then_refuses_and_tells_once(backend, request):
    if backend == "locmem":
        request.getfixturevalue("locmem")
    rate_limit_reset(number=NUMBER)
    results = [rate_limit_hit(number=NUMBER, member=f"SM{i}", limit=3) for i in range(5)]
    assert [r.is_allowed for r in results] == [True, True, True, False, False]
    assert [r.should_notify for r in results] == [False, False, False, True, False]
    assert 3590 < results[3].retry_after <= 3600


@pytest.mark.parametrize("backend", ["redis", "locmem"])
def test_same_member_is_counted_once(backend, request):
    if backend == "locmem":
        request.getfixturevalue("locmem")
    rate_limit_reset(number=NUMBER)
    for _ in range(5):
        assert rate_limit_hit(number=NUMBER, member="SM-retried", limit=2).is_allowed
    assert rate_limit_hit(number=NUMBER, member="SM-other", limit=2).is_allowed  # the second of two
    assert not rate_limit_hit(number=NUMBER, member="SM-third", limit=2).is_allowed


def test_reset_forgets_the_window_and_the_notice():
    from django_redis import get_redis_connection

    for i in range(3):
        rate_limit_hit(number=NUMBER, member=f"SM{i}", limit=2)
    assert get_redis_connection("default").exists(rate_limit_key(NUMBER))
    rate_limit_reset(number=NUMBER)
    assert not get_redis_connection("default").exists(rate_limit_key(NUMBER))
    assert rate_limit_hit(number=NUMBER, member="SM9", limit=2).is_allowed
    rate_limit_hit(number=NUMBER, member="SM10", limit=2)
    assert rate_limit_hit(number=NUMBER, member="SM11", limit=2).should_notify
