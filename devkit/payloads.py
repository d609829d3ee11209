"""Twilio webhook payloads and Twilio-exact signing: the one builder and the one signer that
the tests, ``manage.py sms_simulate``, the load test and the benchmarks share.

Fixtures live in devkit/fixtures/twilio/<event>__<variant>.json: the form parameters Twilio
posts, as Twilio names them. :func:`twilio_signature` signs exactly as Twilio does (with the
SDK's RequestValidator), so the webhook's validator is never stubbed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
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


def twilio_signature(url: str, params: dict[str, Any], auth_token: str, algorithm: str | None = None) -> str:
    """X-Twilio-Signature for a form POST to ``url`` (the URL exactly as configured in Twilio)."""
    if algorithm is None:
        return str(RequestValidator(auth_token).compute_signature(url, params))
    return str(RequestValidator(auth_token).compute_signature(url, params, algorithm))


_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def num_segments(body: str) -> int:
    """How many SMS segments Twilio reports for ``body`` (GSM-7: 160/153, else UCS-2: 70/67)."""
    if all(ch in _GSM7 for ch in body):
        single, multi, length = 160, 153, len(body)
    else:
        single, multi, length = 70, 67, len(body.encode("utf-16-le")) // 2
    if length <= single:
        return 1
    return -(-length // multi)


def inbound_payload(
    *,
    account_sid: str,
    from_number: str,
    to_number: str,
    body: str,
    media: Sequence[tuple[str, str]] = (),
    messaging_service_sid: str = "",
) -> dict[str, str]:
    """The parameters of one inbound SMS (or MMS, with ``media`` as (url, content type) pairs)
    as Twilio posts them, under a new MessageSid."""
    payload = load_payload("inbound_sms__plain")
    payload.pop("MessagingServiceSid")
    if messaging_service_sid:
        payload["MessagingServiceSid"] = messaging_service_sid
    payload.update(
        AccountSid=account_sid,
        From=from_number,
        To=to_number,
        Body=body,
        NumMedia=str(len(media)),
        NumSegments=str(num_segments(body) if body else 1),
    )
    for index, (url, content_type) in enumerate(media):
        payload[f"MediaUrl{index}"] = url
        payload[f"MediaContentType{index}"] = content_type
    return with_new_sid(payload)
