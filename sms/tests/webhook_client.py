"""Posting signed Twilio webhooks in tests (Django test client or a live server)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

from django.conf import settings
from django.test import Client, TestCase

from devkit.payloads import load_payload, twilio_signature, with_new_sid

PATH = "/api/sms/webhook"
TEST_URL = "http://testserver" + PATH
SENDER = "+14155550100"  # the From of the inbound_sms__ fixtures


def sms(**overrides: str) -> dict[str, str]:
    """A new delivery (its own MessageSid) of the plain inbound SMS fixture, with ``overrides``."""
    return with_new_sid(load_payload("inbound_sms__plain", **overrides))


def sign(url: str, params: dict[str, str], token: str | None = None, algorithm: str | None = None) -> str:
    return twilio_signature(url, params, token or settings.TWILIO_AUTH_TOKEN, algorithm)


def post_webhook(
    client: Client,
    params: dict[str, str],
    *,
    path: str = PATH,
    signed_url: str | None = None,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Any:
    """POST ``params`` as Twilio does, signed for ``signed_url`` (default: the test server URL)."""
    all_headers = dict(headers or {})
    if signature is None:
        signature = sign(signed_url or ("http://testserver" + path), params)
    if signature:
        all_headers["X-Twilio-Signature"] = signature
    # Each request commits in real life; inside a test transaction, run its on-commit work
    # (cache invalidation, enqueue) as the commit would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            path,
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers=all_headers,
            **extra,
        )


def reply_text(response: Any) -> str | None:
    """The <Message> text of a TwiML reply, or None for an empty <Response/>."""
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Response"
    messages = [m.text or "" for m in root.iter("Message")]
    return messages[0] if messages else None
