"""Celery tasks of the SMS app. Each takes ids, loads rows, calls one service, and owns its retry policy."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from performance import metrics
from sms.clients.twilio import (
    TwilioPermanentError,
    TwilioTransientError,
)
from sms.masking import mask_phone
from sms.models import OutboundPurpose
from sms.senders import number_is_opted_out
from sms.services.linking import verification_code_send
from smsgateway.logs import log_context

logger = logging.getLogger(__name__)

VERIFICATION_SEND_MAX_RETRIES = 3


@shared_task(bind=True, max_retries=VERIFICATION_SEND_MAX_RETRIES, ignore_result=True)
def phone_number_verification_send(self: Any, phone_number_id: int, sealed_code: str) -> None:
    """Text a verification code (``sms.services.linking.verification_code_send``); Twilio
    outages are retried here with backoff, SMS_VERIFICATION_SEND_RETRY_DELAY doubling."""
    # Run eagerly (embedded default) there is no worker to retry later, and the HTTP client
    # has already retried with backoff: the service records the failure instead.
    may_retry = not self.request.is_eager and self.request.retries < VERIFICATION_SEND_MAX_RETRIES
    try:
        verification_code_send(phone_number_id=phone_number_id, sealed_code=sealed_code, may_retry=may_retry)
    except TwilioTransientError as exc:
        delay = settings.SMS_VERIFICATION_SEND_RETRY_DELAY * 2**self.request.retries
        raise self.retry(exc=exc, countdown=delay) from exc


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def process_inbound_message(message_id: int, message_sid: str | None = None) -> str:
    """Turn an accepted message into pending enrichment items (idempotent).

    The relay enqueues it (``sms/relay.py``). A transient failure puts the message back in the
    outbox with a backoff; the relay hands it out again when due, up to
    ``SMS_PROCESSING_MAX_RETRIES`` retries. Acks are late and the claim is a renewed lease, so a
    worker killed mid-task loses nothing: the sweep hands the message out again. ``message_sid``
    only names the message in the log lines about the task (``smsgateway/celery.py``).
    """
    # Imported here: the relay enqueues this task but need not load PyAV and the Speech SDK.
    from sms.processing.pipeline import inbound_message_process

    with log_context(message_id=message_id, message_sid=message_sid):
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
