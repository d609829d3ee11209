"""The linking rules hold when requests race on separate database connections (as on several
gunicorn workers): each thread below has its own connection and transaction."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from devkit.fakes.twilio import FakeTwilio
from sms.models import PhoneNumber, VerificationCodeSend
from sms.tests.factories import user_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fake_twilio")]

URL = "/api/user/phone-number"
NUMBER = "+14155550123"


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` at the same instant, one thread (and DB connection) each."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait()
            response = calls[i]()
            results[i] = (response.status_code, response.json().get("code") if response.content else None)
        except Exception as exc:  # a 500 or a deadlock shows up here
            results[i] = ("error", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _post(user: Any, url: str, data: dict[str, str]) -> Callable[[], Any]:
    def call() -> Any:
        client = APIClient()
        client.force_authenticate(user)
        return client.post(url, data, format="json")

    return call


def test_racing_claims_of_a_new_number_give_one_winner_and_409s(fake_twilio: FakeTwilio) -> None:
    users = [user_create() for _ in range(8)]
    results = _race([_post(u, URL, {"phone_number": NUMBER}) for u in users])
    assert Counter(results) == {(201, None): 1, (409, "number_claimed"): 7}, results
    assert PhoneNumber.objects.filter(number=NUMBER).count() == 1
    assert len(fake_twilio.sent) == 1


def test_hourly_cap_holds_under_racing_resends(settings, fake_twilio: FakeTwilio) -> None:
    settings.SMS_VERIFICATION_RESEND_COOLDOWN = 0  # only the cap stops them
    user = user_create()
    results = _race([_post(user, URL, {"phone_number": NUMBER}) for _ in range(9)])
    assert Counter(results) == {(201, None): 5, (429, "number_hourly_cap"): 4}, results
    assert VerificationCodeSend.objects.filter(number=NUMBER).count() == 5
    # A code replaced by a newer one before its task ran is not sent (it could not verify anyway).
    assert 1 <= len(fake_twilio.sent) <= 5


def test_cooldown_holds_under_racing_resends(fake_twilio: FakeTwilio) -> None:
    user = user_create()
    results = _race([_post(user, URL, {"phone_number": NUMBER}) for _ in range(6)])
    assert Counter(results) == {(201, None): 1, (429, "resend_cooldown"): 5}, results
    assert len(fake_twilio.sent) == 1


def test_daily_cap_holds_under_racing_requests_for_many_numbers(fake_twilio: FakeTwilio, settings) -> None:
    settings.SMS_LINK_REQUESTS_PER_USER_PER_HOUR = 100  # the daily cap under test, not the request cap
    user = user_create()
    numbers = [f"+1415555{1000 + i:04d}" for i in range(14)]
    results = _race([_post(user, URL, {"phone_number": n}) for n in numbers])
    assert Counter(results) == {(201, None): 10, (429, "user_daily_cap"): 4}, results
    assert VerificationCodeSend.objects.filter(user=user).count() == 10
    assert PhoneNumber.objects.filter(user=user).count() == 1


def test_parallel_guesses_cannot_exceed_five_attempts(fake_twilio: FakeTwilio) -> None:
    user = user_create()
    client = APIClient()
    client.force_authenticate(user)
    assert client.post(URL, {"phone_number": NUMBER}, format="json").status_code == 201
    right = int(fake_twilio.sent[-1].body.split("code is ")[1][:6])
    guesses = [f"{(right + i) % 10**6:06d}" for i in range(1, 21)]
    results = _race([_post(user, URL + "/verify", {"code": g}) for g in guesses])
    assert Counter(results) == {(400, "code_invalid"): 4, (400, "code_voided"): 16}, results
    phone = PhoneNumber.objects.get(user=user)
    assert phone.verification_attempts == 5
    assert phone.verification_code_hash == ""
    assert not phone.is_verified
