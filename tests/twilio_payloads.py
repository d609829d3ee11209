"""Realistic Twilio webhook payloads and Twilio-exact signing, shared by tests and the load test.

Fixtures live in tests/fixtures/twilio/<event>__<variant>.json: the form parameters Twilio
posts, as Twilio names them. ``signed_post_args`` signs them exactly as Twilio does (with the
SDK's RequestValidator), so the webhook's validator is never stubbed.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from twilio.request_validator import RequestValidator

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "twilio"


def load_payload(name: str, **overrides: str) -> dict[str, str]:
    """The fixture ``name`` (``<event>__<variant>``) with fields replaced by ``overrides``."""
    payload: dict[str, str] = json.loads((FIXTURES / f"{name}.json").read_text())
    payload.update(overrides)
    return payload


def new_message_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def with_new_sid(payload: dict[str, str]) -> dict[str, str]:
    """A copy of ``payload`` under a fresh MessageSid (and the SmsSid/SmsMessageSid aliases)."""
    prefix = "MM" if int(payload.get("NumMedia", "0") or 0) else "SM"
    sid = new_message_sid(prefix)
    return {**payload, "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid}


def twilio_signature(url: str, params: dict[str, Any], auth_token: str) -> str:
    """X-Twilio-Signature for a form POST to ``url`` (the URL exactly as configured in Twilio)."""
    return str(RequestValidator(auth_token).compute_signature(url, params))
