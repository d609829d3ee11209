"""Linking changes are seen by the webhook at once (through its cached sender lookup)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from devkit.fakes.twilio import FakeTwilio
from devkit.payloads import load_payload, with_new_sid
from sms.models import PhoneNumber
from sms.tests.factories import user_create
from sms.tests.webhook_client import post_webhook

WEBHOOK = "/api/sms/webhook"


pytestmark = [
    pytest.mark.django_db,
]

NUMBER = "+14155550123"


@pytest.fixture
def text(client: Any, settings: Any, django_capture_on_commit_callbacks: Any, fake_twilio: FakeTwilio) -> Any:
    """Text the webhook from ``number`` as Twilio would; returns the X-SMS-Outcome."""

    def _text(number: str = NUMBER) -> str:
        params = with_new_sid(load_payload("inbound_sms__plain", From=number))
        response = post_webhook(client, params)
        assert response.status_code == 200, response.content
        return str(response["X-SMS-Outcome"])

    return _text


@pytest.fixture
def api(django_capture_on_commit_callbacks: Any) -> Any:
    user = user_create()
    client = APIClient()
    client.force_authenticate(user)

    def _call(method: str, url: str, data: dict[str, Any] | None = None) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(client, method)(url, data, format="json")

    _call.user = user  # type: ignore[attr-defined]
    return _call


def _code(fake: FakeTwilio) -> str:
    """The last verification code texted to NUMBER (the webhook may text it other things)."""
    codes = [re.search(r"verification code is (\d{6})", m.body) for m in fake.sent if m.to == NUMBER]
    found = [c.group(1) for c in codes if c]
    assert found, [m.body for m in fake.sent]
    return found[-1]


def test_unknown_then_unverified_then_accepted(text, api, fake_twilio: FakeTwilio) -> None:
    assert text() == "unknown_sender"  # the negative result is cached now
    assert api("post", "/api/user/phone-number", {"phone_number": NUMBER}).status_code == 201
    assert text() == "unverified"
    assert api("post", "/api/user/phone-number/verify", {"code": _code(fake_twilio)}).status_code == 200
    assert text() == "accepted"


def test_unlink_is_seen_by_the_webhook_at_once(text, api, fake_twilio: FakeTwilio) -> None:
    api("post", "/api/user/phone-number", {"phone_number": NUMBER})
    api("post", "/api/user/phone-number/verify", {"code": _code(fake_twilio)})
    assert text() == "accepted"  # cached as verified
    assert api("delete", "/api/user/phone-number").status_code == 204
    assert text() == "unknown_sender"


def test_expired_claim_taken_over_is_seen_by_the_webhook(text, api, fake_twilio: FakeTwilio) -> None:
    other = user_create()
    PhoneNumber.objects.create(user=other, number=NUMBER, code_expires_at=timezone.now())
    assert text() == "unverified"  # cached: claimed by the other user
    api("post", "/api/user/phone-number", {"phone_number": NUMBER})
    api("post", "/api/user/phone-number/verify", {"code": _code(fake_twilio)})
    assert text() == "accepted"
    assert PhoneNumber.objects.get(number=NUMBER).user == api.user
