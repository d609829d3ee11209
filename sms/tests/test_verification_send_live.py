"""A real Celery worker retries a verification code Twilio could not take (not eager)."""

from __future__ import annotations

import time

import pytest

from devkit.fakes.twilio import FakeTwilio
from sms.models import PhoneNumber, SendStatus
from sms.services.linking import phone_number_link
from sms.tests.factories import user_create
from tests.worker import CeleryWorker

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _wait_for_status(phone_id: int, statuses: set[str], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = PhoneNumber.objects.filter(pk=phone_id).values_list("last_send_status", flat=True).first()
        if status in statuses:
            return status
        time.sleep(0.1)
    raise AssertionError(f"send status still {status!r} after {timeout}s")


def test_worker_retries_with_backoff_until_twilio_takes_the_code(fake_twilio: FakeTwilio, real_broker: None) -> None:
    # The first run exhausts the HTTP client's retries (4 requests); the worker retries later.
    fake_twilio.fail_next(503, times=5)
    env = {"TWILIO_API_BASE_URL": fake_twilio.url, "SMS_VERIFICATION_SEND_RETRY_DELAY": "0.5"}
    with CeleryWorker(pool="solo", env=env) as worker:
        phone = phone_number_link(user=user_create(), number="+14155550123").phone_number
        status = _wait_for_status(phone.pk, {SendStatus.SENT, SendStatus.FAILED})
        output = worker.output()
    assert status == SendStatus.SENT, output
    assert "Retry in" in output, output
    assert len(fake_twilio.sent) == 1
    assert len(fake_twilio.server.requests) == 6  # 4 in the first run, 2 in the retry
