"""The inbound Twilio message as the rest of the code sees it (DESIGN.md §3.2).

``inbound_sms_parse`` turns the webhook's form parameters into a frozen ``InboundSms``; nothing
after it reads the request. Malformed input raises ``WebhookPayloadError`` (400, with a reason).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sms.exceptions import SmsError

MAX_MEDIA = 10
_MEDIA_PARAM = re.compile(r"^Media(?:Url|ContentType)(\d+)$")


class WebhookPayloadError(SmsError):
    """The webhook parameters are not a valid Twilio message."""

    status_code = 400
    code = "invalid_payload"


@dataclass(frozen=True)
class InboundMedia:
    index: int
    url: str
    content_type: str


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    account_sid: str
    from_number: str
    to_number: str
    body: str
    media: tuple[InboundMedia, ...] = ()
    num_segments: int = 1

    @property
    def num_media(self) -> int:
        return len(self.media)


def _required(params: Mapping[str, str], name: str) -> str:
    value = (params.get(name) or "").strip()
    if not value:
        raise WebhookPayloadError(f"missing {name}", code=f"missing_{name.lower()}")
    return value


def inbound_sms_parse(params: Mapping[str, str]) -> InboundSms:
    """Validate and freeze the form parameters of one Twilio messaging webhook."""
    message_sid = _required(params, "MessageSid")
    from_number = _required(params, "From")
    to_number = _required(params, "To")

    raw_num_media = (params.get("NumMedia") or "0").strip()
    if not raw_num_media.isdigit():
        raise WebhookPayloadError("NumMedia is not a number", code="bad_num_media")
    num_media = int(raw_num_media)
    if num_media > MAX_MEDIA:
        raise WebhookPayloadError(f"NumMedia above {MAX_MEDIA}", code="bad_num_media")

    for name in params:
        match = _MEDIA_PARAM.match(name)
        if match and int(match.group(1)) >= num_media:
            raise WebhookPayloadError(f"{name} beyond NumMedia={num_media}", code="media_mismatch")
    media = []
    for index in range(num_media):
        url = (params.get(f"MediaUrl{index}") or "").strip()
        content_type = (params.get(f"MediaContentType{index}") or "").strip()
        if not url or not content_type:
            raise WebhookPayloadError(f"MediaUrl{index}/MediaContentType{index} missing", code="media_mismatch")
        if not url.startswith(("https://", "http://")):
            raise WebhookPayloadError(f"MediaUrl{index} is not an http(s) URL", code="media_mismatch")
        media.append(InboundMedia(index=index, url=url, content_type=content_type.lower()))

    raw_segments = (params.get("NumSegments") or "1").strip()
    return InboundSms(
        message_sid=message_sid,
        account_sid=(params.get("AccountSid") or "").strip(),
        from_number=from_number,
        to_number=to_number,
        body=params.get("Body") or "",
        media=tuple(media),
        num_segments=int(raw_segments) if raw_segments.isdigit() else 1,
    )
