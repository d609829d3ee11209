"""Celery tasks of the SMS app. Each takes ids, loads rows, calls one service, and owns its retry policy."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from performance import metrics
from sms.clients.twilio import (
    TwilioInvalidNumberError,
    TwilioPermanentError,
    TwilioRecipientOptedOutError,
    TwilioTransientError,
)
from sms.masking import mask_phone
from sms.models import OutboundPurpose, PhoneNumber, SendStatus
from sms.senders import number_is_opted_out, verification_status_cache

logger = logging.getLogger(__name__)

VERIFICATION_SEND_MAX_RETRIES = 3


def _send_status_set(phone_number_id: int, code_hash: str, status: str, error: str = "", sid: str = "") -> None:
    """Record the outcome on the row, unless a newer code replaced this one meanwhile. ``sid``
    is what the code's status callbacks name (``sms.services.outbound``)."""
    updated = PhoneNumber.objects.filter(pk=phone_number_id, verification_code_hash=code_hash).update(
        last_send_status=status, last_send_error=error, last_send_sid=sid
    )
    if updated:
        user_id = PhoneNumber.objects.filter(pk=phone_number_id).values_list("user_id", flat=True).first()
        if user_id is not None:
            verification_status_cache().delete(str(user_id))


@shared_task(bind=True, max_retries=VERIFICATION_SEND_MAX_RETRIES, ignore_result=True)
def phone_number_verification_send(self: Any, phone_number_id: int, sealed_code: str) -> None:
    """Text the code sealed in ``sealed_code`` (``verification_code_seal``) to the number it was
    issued for.

    Skips quietly when the row is gone (unlinked, account deleted), already verified, or the
    code was superseded by a newer one. Never texts an opted-out number. Twilio outages are
    retried by the worker with backoff (the HTTP client has already retried quickly); permanent errors are
    recorded for the GET to show, and 21610 marks the number opted out.
    """
    from sms.services.linking import verification_code_hash, verification_code_unseal
    from sms.services.opt_out import phone_number_opt_out_set
    from sms.services.outbound import outbound_sms_send

    code = verification_code_unseal(phone_number_id=phone_number_id, sealed=sealed_code)
    if code is None:
        logger.warning("verification send %s: the sealed code does not open; not sending", phone_number_id)
        return
    phone = PhoneNumber.objects.filter(pk=phone_number_id).first()
    if phone is None or phone.is_verified:
        return
    code_hash = verification_code_hash(number=phone.number, code=code)
    if phone.verification_code_hash != code_hash:
        return  # a newer code was issued, or this one was voided
    if phone.is_opted_out or number_is_opted_out(number=phone.number):
        metrics.OUTBOUND_SMS.labels("skipped").inc()
        _send_status_set(phone.pk, code_hash, SendStatus.OPTED_OUT)
        return

    minutes = max(1, settings.SMS_VERIFICATION_CODE_TTL // 60)
    body = f"Your smsgateway verification code is {code}. It expires in {minutes} minutes."
    try:
        sent = outbound_sms_send(
            to=phone.number, body=body, purpose=OutboundPurpose.VERIFICATION, user_id=phone.user_id
        )
    except TwilioTransientError as exc:
        # Run eagerly (embedded default) there is no worker to retry later, and the HTTP client
        # has already retried with backoff: record the failure instead of failing the request.
        if self.request.is_eager or self.request.retries >= VERIFICATION_SEND_MAX_RETRIES:
            _send_status_set(phone.pk, code_hash, SendStatus.FAILED, "twilio_unavailable")
            return
        delay = settings.SMS_VERIFICATION_SEND_RETRY_DELAY * 2**self.request.retries
        raise self.retry(exc=exc, countdown=delay) from exc
    except TwilioRecipientOptedOutError:
        phone_number_opt_out_set(number=phone.number, opted_out=True)
        _send_status_set(phone.pk, code_hash, SendStatus.OPTED_OUT, "twilio_21610")
        return
    except TwilioInvalidNumberError as exc:
        _send_status_set(phone.pk, code_hash, SendStatus.FAILED, f"invalid_number_{exc.code}")
        return
    except TwilioPermanentError as exc:
        _send_status_set(phone.pk, code_hash, SendStatus.FAILED, f"twilio_{exc.code or exc.status}")
        return
    _send_status_set(phone.pk, code_hash, SendStatus.SENT, sid=sent.message_sid or "")
    logger.info("verification code sent to %s", mask_phone(phone.number))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process_inbound_message(message_id: int) -> str:
    """Turn an accepted message into pending enrichment items (idempotent).

    The relay enqueues it (``sms/relay.py``). A transient failure puts the message back in the
    outbox with a backoff; the relay hands it out again when due, up to
    ``SMS_PROCESSING_MAX_RETRIES`` retries. Acks are late and the claim is a renewed lease, so a
    worker killed mid-task loses nothing: the sweep hands the message out again.
    """
    # Imported here: the relay enqueues this task but need not load PyAV and the Speech SDK.
    from sms.services.processing import inbound_message_process

    return inbound_message_process(message_id=message_id).outcome


@shared_task(bind=True, max_retries=3, ignore_result=True)
def sms_reply_send(self: Any, *, to: str, body: str, purpose: str = OutboundPurpose.INSTRUCTIONS) -> None:
    """A reply the webhook could not give in TwiML (a message written from the spool)."""
    from sms.services.outbound import outbound_sms_send

    if number_is_opted_out(number=to):
        metrics.OUTBOUND_SMS.labels("skipped").inc()
        return
    try:
        outbound_sms_send(to=to, body=body, purpose=str(purpose))
    except TwilioTransientError as exc:
        if self.request.is_eager:
            logger.warning("reply to %s not sent: Twilio unavailable", mask_phone(to))
            return
        raise self.retry(exc=exc, countdown=15 * 2**self.request.retries) from exc
    except TwilioPermanentError as exc:
        logger.warning("reply to %s refused by Twilio (%s)", mask_phone(to), exc.code)


@shared_task
def cleanup_media() -> dict[str, int]:
    """Periodic (Celery beat): stale temp files and stored media past retention."""
    from sms.services.cleanup import media_cleanup

    result = media_cleanup()
    return {"temp_files": result.temp_files, "stored_files": result.stored_files}
