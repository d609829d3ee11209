"""Delivery receipts: sends carry a status_callback, POST /api/sms/status moves the recorded
OutboundMessage forwards only (every order, duplicates, unknown SIDs), signed like the webhook."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import Client

from devkit.fakes.twilio import FakeTwilio
from performance import metrics
from sms.models import OptOut, OutboundMessage, PhoneNumber, SendStatus
from sms.selectors import phone_number_status_get
from sms.senders import number_is_opted_out
from sms.services.linking import phone_number_link
from sms.services.outbound import outbound_sms_send
from sms.tests.factories import phone_number_create, user_create
from sms.tests.webhook_client import post_webhook

pytestmark = pytest.mark.django_db

NUMBER = "+14155550123"
CALLBACK_URL = "https://sms.example.com/api/sms/status"
PATH = "/api/sms/status"


@pytest.fixture(autouse=True)
def _callback_url(settings: Any) -> None:
    settings.SMS_STATUS_CALLBACK_URL = CALLBACK_URL


def _callback(settings: Any, sid: str, status: str, error_code: str = "", **extra: str) -> dict[str, str]:
    params = {
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": NUMBER,
        "From": settings.TWILIO_PHONE_NUMBER,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def _post(params: dict[str, str], **kwargs: Any) -> Any:
    kwargs.setdefault("signed_url", CALLBACK_URL)
    return post_webhook(Client(), params, path=PATH, **kwargs)


def _send(fake_twilio: FakeTwilio, purpose: str = "confirmation") -> OutboundMessage:
    return outbound_sms_send(to=NUMBER, body="Saved 1 item", purpose=purpose)


def test_send_carries_the_status_callback_and_is_recorded(fake_twilio: FakeTwilio) -> None:
    message = _send(fake_twilio)
    assert [m.status_callback for m in fake_twilio.sent] == [CALLBACK_URL]
    assert message.message_sid == fake_twilio.sent[0].sid
    assert (message.to_number, message.purpose, message.status) == (NUMBER, "confirmation", "queued")
    assert message.sent_at is not None and message.final_at is None


def test_no_callback_url_sends_none(settings: Any, fake_twilio: FakeTwilio) -> None:
    settings.SMS_STATUS_CALLBACK_URL = ""
    _send(fake_twilio)
    assert fake_twilio.sent[0].status_callback == ""


def test_refused_send_is_recorded_failed_with_the_error_code(fake_twilio: FakeTwilio) -> None:
    from sms.clients.twilio import TwilioPermanentError

    fake_twilio.fail_next(400, 21211)
    with pytest.raises(TwilioPermanentError):
        _send(fake_twilio)
    row = OutboundMessage.objects.get()
    assert (row.message_sid, row.status, row.error_code) == (None, "failed", "21211")


def test_a_send_refused_with_21610_opts_the_number_out(fake_twilio: FakeTwilio) -> None:
    from sms.clients.twilio import TwilioRecipientOptedOutError

    fake_twilio.fail_next(400, 21610)
    with pytest.raises(TwilioRecipientOptedOutError):
        _send(fake_twilio)
    assert number_is_opted_out(number=NUMBER)
    assert OptOut.objects.get(number=NUMBER).keyword == "twilio_21610"


ORDERED = ["queued", "sending", "sent", "delivered"]


@pytest.mark.parametrize("order", sorted(set(itertools.permutations(ORDERED))))
def test_callbacks_in_any_order_end_delivered(settings: Any, fake_twilio: FakeTwilio, order: tuple[str, ...]) -> None:
    message = _send(fake_twilio)
    assert message.message_sid is not None
    for status in order:
        response = _post(_callback(settings, message.message_sid, status))
        assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.final_at is not None


def test_out_of_order_and_duplicate_are_reported_and_change_nothing(settings: Any, fake_twilio: FakeTwilio) -> None:
    message = _send(fake_twilio)
    sid = message.message_sid
    assert sid is not None
    before = metrics.sample_total("smsgw_outbound_status_total", {"status": "undelivered", "error_code": "30003"})
    first = _post(_callback(settings, sid, "undelivered", "30003"))
    assert first["X-SMS-Outcome"] == "applied"
    assert _post(_callback(settings, sid, "undelivered", "30003"))["X-SMS-Outcome"] == "duplicate"
    assert _post(_callback(settings, sid, "sent"))["X-SMS-Outcome"] == "stale"
    assert _post(_callback(settings, sid, "delivered"))["X-SMS-Outcome"] == "stale"  # final is final
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("undelivered", "30003")
    # Counted once, however many times Twilio told us.
    after = metrics.sample_total("smsgw_outbound_status_total", {"status": "undelivered", "error_code": "30003"})
    assert after == before + 1


def test_unknown_sid_is_200_and_stores_nothing(settings: Any) -> None:
    before = metrics.sample_total("smsgw_status_callbacks_total", {"result": "unknown"})
    response = _post(_callback(settings, "SM" + "f" * 32, "delivered"))
    assert (response.status_code, response["X-SMS-Outcome"]) == (200, "unknown")
    assert not OutboundMessage.objects.exists()
    assert metrics.sample_total("smsgw_status_callbacks_total", {"result": "unknown"}) == before + 1


def test_unsigned_or_wrongly_signed_callback_is_403(settings: Any, fake_twilio: FakeTwilio) -> None:
    message = _send(fake_twilio)
    assert message.message_sid is not None
    params = _callback(settings, message.message_sid, "delivered")
    assert _post(params, signature="").status_code == 403
    # Signed for the webhook URL, not the status callback URL configured in Twilio.
    assert _post(params, signed_url="http://testserver/api/sms/webhook").status_code == 403
    assert _post({**params, "AccountSid": "AC" + "b" * 32}).status_code == 403
    message.refresh_from_db()
    assert message.status == "queued"


def test_database_outage_is_503_not_a_crash(settings: Any, monkeypatch: Any) -> None:
    from django.db import OperationalError

    import sms.webhook.status_callback

    def down(**kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(sms.webhook.status_callback, "outbound_status_record", down)
    response = _post(_callback(settings, "SM" + "d" * 32, "delivered"))
    assert (response.status_code, response["X-SMS-Outcome"], response["Retry-After"]) == (503, "unavailable", "5")


def test_missing_status_is_400(settings: Any) -> None:
    params = _callback(settings, "SM" + "e" * 32, "delivered")
    del params["MessageStatus"], params["SmsStatus"]
    assert _post(params).status_code == 400


def test_callback_url_defaults_to_the_webhook_public_url_with_the_status_path(monkeypatch: Any) -> None:
    import importlib

    import smsgateway.settings.intake as base

    monkeypatch.setenv("SMS_WEBHOOK_PUBLIC_URL", "https://sms.example.com/api/sms/webhook?tenant=a")
    monkeypatch.delenv("SMS_STATUS_CALLBACK_URL", raising=False)
    try:
        assert importlib.reload(base).SMS_STATUS_CALLBACK_URL == CALLBACK_URL
        monkeypatch.setenv("SMS_STATUS_CALLBACK_URL", "")
        assert importlib.reload(base).SMS_STATUS_CALLBACK_URL == ""
    finally:
        monkeypatch.undo()
        importlib.reload(base)


# --- what a receipt means for the recipient ---------------------------------------------------


def _verification(django_capture_on_commit_callbacks: Any) -> PhoneNumber:
    user = user_create()
    with django_capture_on_commit_callbacks(execute=True):
        phone_number_link(user=user, number=NUMBER)
    return PhoneNumber.objects.get(user=user)


@pytest.mark.parametrize(
    ("status", "error_code", "shown", "error"),
    [("delivered", "", SendStatus.DELIVERED, ""), ("undelivered", "30005", SendStatus.UNDELIVERED, "twilio_30005")],
)
def test_verification_code_shows_delivered_or_undelivered(
    settings: Any, fake_twilio: FakeTwilio, django_capture_on_commit_callbacks: Any, status, error_code, shown, error
) -> None:
    phone = _verification(django_capture_on_commit_callbacks)
    assert phone.last_send_status == SendStatus.SENT
    sent = OutboundMessage.objects.get(purpose="verification")
    assert sent.message_sid == phone.last_send_sid == fake_twilio.sent[0].sid
    assert _post(_callback(settings, phone.last_send_sid, "sent"))["X-SMS-Outcome"] == "applied"
    assert _post(_callback(settings, phone.last_send_sid, status, error_code))["X-SMS-Outcome"] == "applied"
    shown_status = phone_number_status_get(user_id=phone.user_id)
    assert shown_status is not None
    assert (shown_status.last_send_status, shown_status.last_send_error) == (shown, error)


def _code_reissued(settings: Any, django_capture_on_commit_callbacks: Any, *, sent: bool) -> tuple[PhoneNumber, str]:
    """A verification code texted, then a new one issued (and texted too if ``sent``): the number's
    row and the first code's SID."""
    settings.SMS_VERIFICATION_RESEND_COOLDOWN = 0
    phone = _verification(django_capture_on_commit_callbacks)
    old_sid = phone.last_send_sid
    with django_capture_on_commit_callbacks(execute=sent):
        phone_number_link(user=phone.user, number=NUMBER)
    return phone, old_sid


def test_a_superseded_codes_receipt_does_not_touch_the_new_code(
    settings: Any, fake_twilio: FakeTwilio, django_capture_on_commit_callbacks: Any
) -> None:
    phone, old_sid = _code_reissued(settings, django_capture_on_commit_callbacks, sent=True)
    _post(_callback(settings, old_sid, "undelivered", "30003"))
    phone.refresh_from_db()
    assert phone.last_send_sid != old_sid
    assert phone.last_send_status == SendStatus.SENT


def test_an_old_codes_receipt_arriving_before_the_new_code_is_sent_changes_nothing(
    settings: Any, fake_twilio: FakeTwilio, django_capture_on_commit_callbacks: Any
) -> None:
    phone, old_sid = _code_reissued(settings, django_capture_on_commit_callbacks, sent=False)
    assert _post(_callback(settings, old_sid, "delivered"))["X-SMS-Outcome"] == "applied"
    phone.refresh_from_db()
    assert (phone.last_send_status, phone.last_send_sid) == (SendStatus.PENDING, "")


def test_error_21610_opts_the_number_out(settings: Any, fake_twilio: FakeTwilio) -> None:
    message = _send(fake_twilio)
    assert message.message_sid is not None
    _post(_callback(settings, message.message_sid, "failed", "21610"))
    assert number_is_opted_out(number=NUMBER)
    assert OptOut.objects.get(number=NUMBER).keyword == "twilio_21610"


def test_30003_class_errors_mark_the_number_unreachable_until_a_delivery(
    settings: Any, fake_twilio: FakeTwilio
) -> None:
    phone = phone_number_create(number=NUMBER, verified=True)
    for code in ("30003", "30004", "30005", "30006"):
        message = _send(fake_twilio)
        assert message.message_sid is not None
        _post(_callback(settings, message.message_sid, "undelivered", code))
        phone.refresh_from_db()
        assert phone.unreachable_at is not None, code
        assert not number_is_opted_out(number=NUMBER)
        PhoneNumber.objects.filter(pk=phone.pk).update(unreachable_at=None)
    message = _send(fake_twilio)
    assert message.message_sid is not None
    _post(_callback(settings, message.message_sid, "undelivered", "30005"))
    delivered = _send(fake_twilio)
    assert delivered.message_sid is not None
    _post(_callback(settings, delivered.message_sid, "delivered"))
    phone.refresh_from_db()
    assert phone.unreachable_at is None


# --- where operators see it ----------------------------------------------------------------


def _delivery_mix(settings: Any, fake_twilio: FakeTwilio) -> None:
    for status, code in [("delivered", ""), ("delivered", ""), ("delivered", ""), ("undelivered", "30007")]:
        message = _send(fake_twilio)
        assert message.message_sid is not None
        _post(_callback(settings, message.message_sid, status, code))
    _send(fake_twilio, purpose="verification")  # awaiting its receipt


def test_performance_page_shows_delivery_rates(settings: Any, fake_twilio: FakeTwilio) -> None:
    _delivery_mix(settings, fake_twilio)
    staff = user_create(is_staff=True)
    client = Client()
    client.force_login(staff)
    html = client.get("/admin/performance/").content.decode()
    assert "Outbound delivery (last 24 h)" in html
    assert "75.0%" in html  # 3 of 4 confirmations with a final status were delivered


def test_admin_outbound_list_shows_delivery_rates_and_masks_numbers(settings: Any, fake_twilio: FakeTwilio) -> None:
    _delivery_mix(settings, fake_twilio)
    admin_user = user_create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    response = client.get("/admin/sms/outboundmessage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="delivery-rates"' in html and "75.0%" in html
    assert NUMBER not in html and "***0123" in html
