"""The real twilio SDK against the local fake Twilio REST API."""

from __future__ import annotations

import pytest

from devkit.fakes.twilio import FakeTwilio
from sms.clients.twilio import (
    TwilioInvalidNumberError,
    TwilioPermanentError,
    TwilioRecipientOptedOutError,
    TwilioTransientError,
    get_twilio_client,
)


def test_send_sms_posts_to_the_configured_base_url(fake_twilio: FakeTwilio, settings) -> None:
    sent = get_twilio_client().send_sms(to="+14155550100", body="Saved 3 items")
    assert sent.sid.startswith("SM")
    assert sent.status == "queued"
    assert [(m.to, m.from_, m.body) for m in fake_twilio.sent] == [
        ("+14155550100", settings.TWILIO_PHONE_NUMBER, "Saved 3 items")
    ]


def test_connections_are_reused_across_sends(fake_twilio: FakeTwilio) -> None:
    client = get_twilio_client()
    for _ in range(5):
        client.send_sms(to="+14155550100", body="hi")
    stats = client.pool_stats()
    assert stats["size"] == 1
    assert stats["idle"] == 1
    assert stats["in_use"] == 0
    assert stats["max"] == 10


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried_then_succeed(fake_twilio: FakeTwilio, status: int) -> None:
    fake_twilio.fail_next(status, code=20429 if status == 429 else None, times=2)
    sent = get_twilio_client().send_sms(to="+14155550100", body="hi")
    assert sent.sid
    assert len(fake_twilio.sent) == 1
    assert len(fake_twilio.server.requests) == 3


def test_persistent_5xx_raises_transient_error_after_retries(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(503, times=10)
    with pytest.raises(TwilioTransientError):
        get_twilio_client().send_sms(to="+14155550100", body="hi")
    assert len(fake_twilio.server.requests) == 4  # first try + 3 retries
    assert fake_twilio.sent == []


def test_unsubscribed_recipient_is_a_permanent_opted_out_error(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(400, code=21610)
    with pytest.raises(TwilioRecipientOptedOutError):
        get_twilio_client().send_sms(to="+14155550100", body="hi")
    assert len(fake_twilio.server.requests) == 1  # never retried


def test_invalid_number_is_a_permanent_error(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(400, code=21211)
    with pytest.raises(TwilioInvalidNumberError):
        get_twilio_client().send_sms(to="+1415", body="hi")
    assert len(fake_twilio.server.requests) == 1


def test_other_client_errors_are_permanent(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(400, code=30000)
    with pytest.raises(TwilioPermanentError) as info:
        get_twilio_client().send_sms(to="+14155550100", body="hi")
    assert not isinstance(info.value, TwilioInvalidNumberError | TwilioRecipientOptedOutError)


def test_wrong_credentials_are_permanent(fake_twilio: FakeTwilio, settings) -> None:
    settings.TWILIO_AUTH_TOKEN = "wrong"
    with pytest.raises(TwilioPermanentError) as info:
        get_twilio_client().send_sms(to="+14155550100", body="hi")
    assert info.value.status == 401


def test_unreachable_twilio_is_transient(settings) -> None:
    from tests.live import free_port

    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TwilioTransientError):
        get_twilio_client().send_sms(to="+14155550100", body="hi")


def test_delete_media(fake_twilio: FakeTwilio) -> None:
    get_twilio_client().delete_media(message_sid="MM123", media_sid="ME456")
    assert fake_twilio.deleted_media == [("MM123", "ME456")]


def test_delete_media_already_gone_is_done(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(404, code=20404)
    get_twilio_client().delete_media(message_sid="MM123", media_sid="ME456")


def test_fake_media_redirects_to_cdn_after_basic_auth(fake_twilio: FakeTwilio, settings) -> None:
    import requests

    url = fake_twilio.add_media(b"\xff\xd8\xff\xe0jpeg", "image/jpeg")
    assert requests.get(url, timeout=5).status_code == 401
    first = requests.get(
        url, auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN), allow_redirects=False, timeout=5
    )
    assert first.status_code == 307
    assert first.headers["Location"].startswith(fake_twilio.cdn.url)
    cdn = requests.get(first.headers["Location"], timeout=5)
    assert cdn.content == b"\xff\xd8\xff\xe0jpeg"
    assert cdn.headers["Content-Type"] == "image/jpeg"
