import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from loadtesting.senders import senders_setup
from loadtesting.traffic import sender_number
from performance.caches import MISSING
from sms.models import PhoneNumber
from sms.ratelimit import rate_limit_key
from sms.senders import phone_lookup_cache

pytestmark = pytest.mark.django_db


def test_creates_verified_senders_for_the_first_n_numbers():
    assert senders_setup(count=25) == {"senders": 25, "created": 25}
    numbers = set(PhoneNumber.objects.filter(is_verified=True).values_list("number", flat=True))
    assert numbers == {sender_number(i) for i in range(25)}
    assert not get_user_model().objects.get(username="loadtest-sender-0").has_usable_password()


def test_is_idempotent_and_extends():
    senders_setup(count=10)
    assert senders_setup(count=15) == {"senders": 15, "created": 5}
    assert PhoneNumber.objects.count() == 15
    assert get_user_model().objects.filter(username__startswith="loadtest-sender-").count() == 15


def test_clears_opt_outs_and_unverified_state_left_by_earlier_runs():
    senders_setup(count=3)
    PhoneNumber.objects.filter(number=sender_number(0)).update(opted_out_at=timezone.now())
    PhoneNumber.objects.filter(number=sender_number(1)).update(is_verified=False)
    senders_setup(count=3)
    assert PhoneNumber.objects.filter(opted_out_at__isnull=True, is_verified=True).count() == 3


def test_resets_rate_limit_windows_and_warms_the_lookup_cache():
    number = sender_number(0)
    redis = cache.client.get_client(write=True)  # type: ignore[attr-defined]
    redis.zadd(rate_limit_key(number), {"x": 1})
    phone_lookup_cache().set(number, None)  # a stale negative result from before setup

    senders_setup(count=1)

    assert not redis.exists(rate_limit_key(number))
    cached = phone_lookup_cache().get(number)
    assert cached is not MISSING and cached is not None
    assert cached[1] is True  # verified
