"""The verification-code send task: real twilio SDK against the fake Twilio REST server."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.utils import timezone

from devkit.fakes.twilio import FakeTwilio
from performance import metrics
from sms.models import PhoneNumber, SendStatus
from sms.selectors import phone_number_status_get
from sms.senders import number_is_opted_out
from sms.services.linking import phone_number_link
from sms.services.linking import verification_code_seal as linking_seal
from sms.tasks import verification_code_send_task
from sms.tests.factories import user_create

pytestmark = pytest.mark.django_db

NUMBER = "+14155550123"


def _issue_code(django_capture_on_commit_callbacks: Any) -> tuple[PhoneNumber, list[Any]]:
    """Link a number without running the send task; return the row and the captured callbacks."""
    user = user_create()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = phone_number_link(user=user, number=NUMBER)
    return result.phone_number, callbacks


def _run_send(callbacks: list[Any]) -> None:
    for callback in callbacks:
        callback()


def _outbound(result: str) -> float:
    return metrics.sample_total("smsgw_outbound_sms_total", {"result": result})


def test_send_is_enqueued_on_commit_only(django_capture_on_commit_callbacks, fake_twilio: FakeTwilio) -> None:
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    assert fake_twilio.sent == []  # nothing sent inside the transaction
    assert PhoneNumber.objects.get(pk=phone.pk).last_send_status == SendStatus.PENDING
    _run_send(callbacks)
    assert len(fake_twilio.sent) == 1
    assert PhoneNumber.objects.get(pk=phone.pk).last_send_status == SendStatus.SENT


@pytest.mark.parametrize(
    ("status", "code", "times", "error", "requests_made"),
    [
        # Eager (no worker): the HTTP client's retries (1 try + 3) are all there is; the request
        # does not fail.
        pytest.param(503, None, 100, "twilio_unavailable", 4, id="transient_error_that_outlasts_the_http_retries"),
        pytest.param(400, 21211, 1, "invalid_number_21211", 1, id="invalid_number"),
    ],
)
def test_a_send_twilio_does_not_take_is_recorded_as_failed(
    django_capture_on_commit_callbacks, fake_twilio: FakeTwilio, status, code, times, error, requests_made
) -> None:
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    fake_twilio.fail_next(status, code=code, times=times)
    _run_send(callbacks)
    phone.refresh_from_db()
    assert (phone.last_send_status, phone.last_send_error, phone.opted_out_at) == (SendStatus.FAILED, error, None)
    assert len(fake_twilio.server.requests) == requests_made
    assert fake_twilio.sent == []


def test_transient_error_within_the_http_retries_still_delivers(
    django_capture_on_commit_callbacks, fake_twilio: FakeTwilio
) -> None:
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    fake_twilio.fail_next(429, code=20429, times=2)
    _run_send(callbacks)
    assert len(fake_twilio.sent) == 1
    assert PhoneNumber.objects.get(pk=phone.pk).last_send_status == SendStatus.SENT


def test_link_request_succeeds_while_twilio_is_down(
    fake_twilio: FakeTwilio, django_capture_on_commit_callbacks
) -> None:
    from rest_framework.test import APIClient

    fake_twilio.fail_next(503, times=100)
    client = APIClient()
    client.force_authenticate(user_create())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/user/phone-number", {"phone_number": NUMBER}, format="json")
    assert response.status_code == 201
    assert client.get("/api/user/phone-number").json()["last_send_status"] == SendStatus.FAILED


def test_unsubscribed_recipient_marks_the_number_opted_out(
    django_capture_on_commit_callbacks, fake_twilio: FakeTwilio
) -> None:
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    assert number_is_opted_out(number=NUMBER) is False  # cached
    fake_twilio.fail_next(400, code=21610)
    with django_capture_on_commit_callbacks(execute=True):
        _run_send(callbacks)
    phone.refresh_from_db()
    assert phone.opted_out_at is not None
    assert phone.last_send_status == SendStatus.OPTED_OUT
    assert phone.last_send_error == "twilio_21610"
    assert len(fake_twilio.server.requests) == 1  # permanent: never retried
    assert number_is_opted_out(number=NUMBER) is True  # the cache was invalidated


def test_last_send_status_is_shown_by_the_status_selector(
    django_capture_on_commit_callbacks, fake_twilio: FakeTwilio
) -> None:
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    for callback in callbacks[:-1]:
        callback()  # cache invalidation, not the send
    cached = phone_number_status_get(user_id=phone.user_id)  # now cached
    assert cached is not None and cached.last_send_status == SendStatus.PENDING
    fake_twilio.fail_next(400, code=21211)
    callbacks[-1]()
    status = phone_number_status_get(user_id=phone.user_id)
    assert status is not None
    assert status.last_send_status == SendStatus.FAILED
    assert status.last_send_error == "invalid_number_21211"


def test_never_sends_to_an_opted_out_number(django_capture_on_commit_callbacks, fake_twilio: FakeTwilio) -> None:
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    PhoneNumber.objects.filter(pk=phone.pk).update(opted_out_at=timezone.now())  # STOP arrived meanwhile
    skipped = _outbound("skipped")
    _run_send(callbacks)
    assert fake_twilio.sent == []
    assert PhoneNumber.objects.get(pk=phone.pk).last_send_status == SendStatus.OPTED_OUT
    assert _outbound("skipped") == skipped + 1


def test_superseded_code_is_not_sent(django_capture_on_commit_callbacks, fake_twilio: FakeTwilio) -> None:
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    PhoneNumber.objects.filter(pk=phone.pk).update(verification_code_hash="0" * 64)  # a newer code
    _run_send(callbacks)
    assert fake_twilio.sent == []


def test_unlinked_number_is_not_texted(django_capture_on_commit_callbacks, fake_twilio: FakeTwilio) -> None:
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    PhoneNumber.objects.filter(pk=phone.pk).delete()
    _run_send(callbacks)
    assert fake_twilio.sent == []


def test_task_body_never_contains_more_than_the_code(
    fake_twilio: FakeTwilio, django_capture_on_commit_callbacks
) -> None:
    _phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    _run_send(callbacks)
    assert fake_twilio.sent[0].body.startswith("Your smsgateway verification code is ")
    assert "expires in 10 minutes" in fake_twilio.sent[0].body


def test_the_task_arguments_never_hold_the_code(django_capture_on_commit_callbacks, monkeypatch) -> None:
    """What travels through the broker is sealed: it opens only for its own row, and nothing in
    it is the code a reader could type back."""
    from sms.services import linking

    codes: list[str] = []

    def generate() -> str:
        codes.append(real_generate())
        return codes[-1]

    real_generate = linking.verification_code_generate
    monkeypatch.setattr(linking, "verification_code_generate", generate)
    enqueued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(verification_code_send_task, "delay", lambda *args: enqueued.append(args))
    phone, callbacks = _issue_code(django_capture_on_commit_callbacks)
    _run_send(callbacks)
    [(phone_id, sealed)] = enqueued
    assert phone_id == phone.pk
    assert codes[0] not in sealed and not re.search(r"\d{6}", sealed)
    assert linking.verification_code_unseal(phone_number_id=phone.pk, sealed=sealed) == codes[0]
    assert linking.verification_code_unseal(phone_number_id=phone.pk + 1, sealed=sealed) is None
    raw = bytearray(base64.urlsafe_b64decode(sealed))
    raw[14] ^= 1  # one bit of the ciphertext
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    assert linking.verification_code_unseal(phone_number_id=phone.pk, sealed=tampered) is None
    assert linking.verification_code_unseal(phone_number_id=phone.pk, sealed="not base64!") is None


def test_task_ignores_a_wrong_code_argument(fake_twilio: FakeTwilio, django_capture_on_commit_callbacks) -> None:
    phone, _ = _issue_code(django_capture_on_commit_callbacks)
    # Someone who can enqueue tasks cannot make us text an arbitrary code.
    verification_code_send_task.delay(phone.pk, "000000" if phone.verification_code_hash else "1")
    forged = linking_seal(phone_number_id=phone.pk + 1, code="000000")  # sealed for another row
    verification_code_send_task.delay(phone.pk, forged)
    assert all("000000" not in m.body for m in fake_twilio.sent)
