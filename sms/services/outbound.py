"""Outbound texts and their delivery receipts (docs/ARCHITECTURE.md, "Delivery receipts").

``outbound_sms_send`` sends one text through Twilio with a ``status_callback`` (when
``SMS_STATUS_CALLBACK_URL`` is set) and records it as an ``OutboundMessage``; only workers and
the relay call it, never the webhook request. ``sms_reply_send`` is the same for a reply to a
sender, which an opted-out number does not get. ``outbound_status_record`` applies one status
callback: a conditional UPDATE that only moves a message forwards (queued → sent → delivered /
undelivered / failed), so duplicates and callbacks arriving out of order change nothing.
"""

from __future__ import annotations

import enum
import logging

from django.conf import settings
from django.utils import timezone

from performance import metrics
from sms.clients.twilio import TwilioError, TwilioRecipientOptedOutError, get_twilio_client
from sms.masking import mask_phone
from sms.models import (
    OUTBOUND_FINAL_STATUSES,
    OUTBOUND_STATUS_RANK,
    OutboundMessage,
    OutboundStatus,
    PhoneNumber,
    SendStatus,
)
from sms.senders import number_is_opted_out, verification_status_cache

logger = logging.getLogger(__name__)

# Twilio error codes of a status callback that say something about the recipient.
OPTED_OUT_ERRORS = frozenset({"21610"})  # the recipient replied STOP to us (Twilio's own record)
# 30003 unreachable handset, 30004 blocked, 30005 unknown handset, 30006 landline or unreachable
# carrier: the number is marked unreachable (cleared by the next delivery), not opted out.
UNREACHABLE_ERRORS = frozenset({"30003", "30004", "30005", "30006"})

# The verification code's last_send_status for each delivery status that changes it.
_VERIFICATION_STATUS: dict[str, str] = {
    OutboundStatus.DELIVERED: SendStatus.DELIVERED,
    OutboundStatus.UNDELIVERED: SendStatus.UNDELIVERED,
    OutboundStatus.FAILED: SendStatus.FAILED,
    OutboundStatus.CANCELED: SendStatus.FAILED,
}


class CallbackResult(enum.StrEnum):
    APPLIED = "applied"  # the message moved forwards
    DUPLICATE = "duplicate"  # it already had this status
    STALE = "stale"  # it is already further on (an out-of-order callback)
    UNKNOWN = "unknown"  # no text of ours has this SID
    IGNORED = "ignored"  # a status we do not track


def outbound_sms_send(*, to: str, body: str, purpose: str, user_id: int | None = None) -> OutboundMessage:
    """Send ``body`` to ``to`` and record it. Raises the client's TwilioError after recording
    the refusal (status ``failed`` with Twilio's error code, no SID)."""
    now = timezone.now()
    row = {"user_id": user_id, "to_number": to, "purpose": purpose, "created_at": now, "status_updated_at": now}
    try:
        sent = get_twilio_client().send_sms(to=to, body=body, status_callback=settings.SMS_STATUS_CALLBACK_URL)
    except TwilioError as exc:
        code = str(exc.code or exc.status or "unreachable")[:16]
        OutboundMessage.objects.create(**row, status=OutboundStatus.FAILED, error_code=code, final_at=now)
        metrics.OUTBOUND_STATUS.labels(OutboundStatus.FAILED.value, code).inc()
        if isinstance(exc, TwilioRecipientOptedOutError):  # 21610: Twilio holds a STOP from them
            from sms.services.opt_out import phone_number_opt_out_set

            phone_number_opt_out_set(number=to, opted_out=True, keyword=f"twilio_{exc.code}")
        raise
    status = sent.status if sent.status in OUTBOUND_STATUS_RANK else OutboundStatus.QUEUED.value
    message = OutboundMessage.objects.create(**row, message_sid=sent.sid, status=status, sent_at=now)
    metrics.OUTBOUND_STATUS.labels(status, "").inc()
    return message


def sms_reply_send(*, to: str, body: str, purpose: str, user_id: int | None = None) -> OutboundMessage | None:
    """Reply to a sender (a confirmation, a failure text, instructions), unless the number has
    opted out: then nothing is sent (counted as skipped) and None is returned. Raises as
    ``outbound_sms_send``."""
    if number_is_opted_out(number=to):
        metrics.OUTBOUND_SMS.labels("skipped").inc()
        logger.info("no reply to %s: opted out", mask_phone(to))
        return None
    return outbound_sms_send(to=to, body=body, purpose=purpose, user_id=user_id)


def outbound_status_record(*, message_sid: str, status: str, error_code: str = "") -> CallbackResult:
    """Apply one status callback. Idempotent; never moves a message backwards."""
    status = status.strip().lower()
    error_code = error_code.strip()[:16]
    rank = OUTBOUND_STATUS_RANK.get(status)
    if rank is None:
        metrics.STATUS_CALLBACKS.labels(CallbackResult.IGNORED.value).inc()
        return CallbackResult.IGNORED
    now = timezone.now()
    fields: dict[str, object] = {"status": status, "status_updated_at": now}
    if error_code:
        fields["error_code"] = error_code
    if status in OUTBOUND_FINAL_STATUSES:
        fields["final_at"] = now
    earlier = [s for s, r in OUTBOUND_STATUS_RANK.items() if r < rank]
    # One conditional UPDATE decides: two callbacks at once cannot both apply, and a later
    # status that arrived first is never overwritten by an earlier one.
    updated = OutboundMessage.objects.filter(message_sid=message_sid, status__in=earlier).update(**fields)
    if not updated:
        current = OutboundMessage.objects.filter(message_sid=message_sid).values_list("status", flat=True).first()
        if current is None:
            result = CallbackResult.UNKNOWN
            logger.info("status callback for unknown message %s (%s)", message_sid, status)
        else:
            result = CallbackResult.DUPLICATE if current == status else CallbackResult.STALE
        metrics.STATUS_CALLBACKS.labels(result.value).inc()
        return result
    metrics.STATUS_CALLBACKS.labels(CallbackResult.APPLIED.value).inc()
    metrics.OUTBOUND_STATUS.labels(status, error_code).inc()
    message = OutboundMessage.objects.filter(message_sid=message_sid).only("to_number", "purpose").first()
    if message is not None:
        _apply_consequences(message, status=status, error_code=error_code, now=now)
    return CallbackResult.APPLIED


def _apply_consequences(message: OutboundMessage, *, status: str, error_code: str, now: object) -> None:
    number = message.to_number
    verification_status = _VERIFICATION_STATUS.get(status)
    if verification_status is not None:
        # Only the row whose latest code this SID carried: a newer code has its own SID.
        phone = PhoneNumber.objects.filter(last_send_sid=message.message_sid).only("pk", "user_id").first()
        if phone is not None:
            PhoneNumber.objects.filter(pk=phone.pk, last_send_sid=message.message_sid).update(
                last_send_status=verification_status, last_send_error=f"twilio_{error_code}" if error_code else ""
            )
            verification_status_cache().delete(str(phone.user_id))
    if error_code in OPTED_OUT_ERRORS:
        from sms.services.opt_out import phone_number_opt_out_set

        phone_number_opt_out_set(number=number, opted_out=True, keyword=f"twilio_{error_code}")
        logger.info("%s opted out: Twilio reported %s", mask_phone(number), error_code)
    elif error_code in UNREACHABLE_ERRORS:
        PhoneNumber.objects.filter(number=number).update(unreachable_at=now)
        logger.info("%s unreachable: Twilio reported %s", mask_phone(number), error_code)
    elif status == OutboundStatus.DELIVERED:
        PhoneNumber.objects.filter(number=number, unreachable_at__isnull=False).update(unreachable_at=None)
