"""The inbound Twilio message as the rest of the code sees it (docs/ARCHITECTURE.md, "The intake path").

``form_parse`` reads a form body into a ``TwilioForm``; ``inbound_sms_parse`` turns the
webhook's form parameters into a frozen ``InboundSms``; nothing after it reads the request.
Malformed input raises ``WebhookPayloadError`` (400, with a reason).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from django.utils.datastructures import MultiValueDict

from sms.exceptions import SmsError

MAX_MEDIA = 10
_MEDIA_PARAM = re.compile(r"^Media(?:Url|ContentType)(\d+)$")
# The longest value each stored field takes (sms/models.py). Twilio's own values are far shorter
# (a MessageSid is 34 characters, an E.164 number at most 16), so a longer one is not Twilio's.
MAX_LENGTHS = {"MessageSid": 64, "AccountSid": 64, "MessagingServiceSid": 64, "From": 32, "To": 32}
OPT_OUT_TYPES = frozenset({"STOP", "START", "HELP"})
MAX_MEDIA_URL = 1024
MAX_CONTENT_TYPE = 128


class WebhookPayloadError(SmsError, code="invalid_payload", status_code=400):
    """The webhook parameters are not a valid Twilio message."""


class TwilioForm(MultiValueDict[str, str]):
    """Form parameters, with the ``getall`` the Twilio SDK's signature validator tries first: on
    a plain MultiValueDict it finds ``getlist`` only after an AttributeError for every field."""

    def getall(self, key: str) -> list[str]:
        return self.getlist(key)


def form_parse(body: bytes, *, max_fields: int | None) -> TwilioForm:
    """``application/x-www-form-urlencoded`` as ``urllib.parse.parse_qsl`` reads it (blank values
    kept, UTF-8 with replacement), unquoting only what is quoted: a Twilio body is some twenty
    fields, most with nothing to unquote (a third of parse_qsl's cost, docs/PERFORMANCE.md)."""
    text = body.decode("utf-8", "replace")
    pairs = text.split("&") if text else []
    if max_fields is not None and len(pairs) > max_fields:
        raise WebhookPayloadError("too many form fields", code="too_many_fields")
    form: dict[str, list[str]] = {}
    for pair in pairs:
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name, errors="replace")
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="replace")
        form.setdefault(name, []).append(value)
    return TwilioForm(form)


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
    # The Messaging Service the message came through; empty when sent to the number directly.
    messaging_service_sid: str = ""
    # Advanced Opt-Out: the keyword class Twilio recognised (STOP, START or HELP), else empty.
    opt_out_type: str = ""

    @property
    def num_media(self) -> int:
        return len(self.media)

    @property
    def channel(self) -> str:
        """``sms`` for a phone number; else the channel prefix Twilio put on From (``whatsapp``,
        ``messenger``, …)."""
        prefix, sep, _ = self.from_number.partition(":")
        return prefix.lower() if sep else "sms"


def _checked(name: str, value: str, max_length: int, code: str) -> str:
    """An identifier as stored: at most ``max_length`` characters and no NUL, which PostgreSQL
    cannot store in text. Either is a malformed delivery (400), never a database failure."""
    if len(value) > max_length:
        raise WebhookPayloadError(f"{name} longer than {max_length} characters", code=code)
    if "\x00" in value:
        raise WebhookPayloadError(f"{name} contains a NUL character", code=code)
    return value


def _required(params: Mapping[str, str], name: str) -> str:
    value = (params.get(name) or "").strip()
    if not value:
        raise WebhookPayloadError(f"missing {name}", code=f"missing_{name.lower()}")
    return _checked(name, value, MAX_LENGTHS[name], f"bad_{name.lower()}")


def _count(params: Mapping[str, str], name: str, default: str) -> int | None:
    """A non-negative ASCII integer, or None. ``str.isdigit`` alone accepts digits such as "²"
    that ``int`` refuses."""
    raw = (params.get(name) or default).strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        return None
    return int(raw)


def inbound_sms_parse(params: Mapping[str, str]) -> InboundSms:
    """Validate and freeze the form parameters of one Twilio messaging webhook."""
    message_sid = _required(params, "MessageSid")
    from_number = _required(params, "From")
    to_number = _required(params, "To")

    num_media = _count(params, "NumMedia", "0")
    if num_media is None:
        raise WebhookPayloadError("NumMedia is not a number", code="bad_num_media")
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
        _checked(f"MediaUrl{index}", url, MAX_MEDIA_URL, "bad_media")
        _checked(f"MediaContentType{index}", content_type, MAX_CONTENT_TYPE, "bad_media")
        media.append(InboundMedia(index=index, url=url, content_type=content_type.lower()))

    account_sid = _checked(
        "AccountSid", (params.get("AccountSid") or "").strip(), MAX_LENGTHS["AccountSid"], "bad_accountsid"
    )
    messaging_service_sid = _checked(
        "MessagingServiceSid",
        (params.get("MessagingServiceSid") or "").strip(),
        MAX_LENGTHS["MessagingServiceSid"],
        "bad_messagingservicesid",
    )
    # Twilio's own values only; anything else is as if Twilio recognised nothing.
    opt_out_type = (params.get("OptOutType") or "").strip().upper()
    if opt_out_type not in OPT_OUT_TYPES:
        opt_out_type = ""
    return InboundSms(
        message_sid=message_sid,
        account_sid=account_sid,
        from_number=from_number,
        to_number=to_number,
        # The text is the user's: a NUL (which PostgreSQL cannot store) is dropped, the rest kept.
        body=(params.get("Body") or "").replace("\x00", ""),
        media=tuple(media),
        num_segments=_count(params, "NumSegments", "1") or 1,
        messaging_service_sid=messaging_service_sid,
        opt_out_type=opt_out_type,
    )
