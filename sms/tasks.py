"""Celery tasks of the SMS app, each named after the one service it calls. A task owns only its
retry policy and the arguments it is handed; the rules live in the service.

- ``inbound_message_process_task``: a stored message becomes pending items. The message row is
  the outbox: the webhook only stores it, and the relay (``sms/relay.py``) hands it to Celery.
- ``verification_code_send_task``: a verification code, enqueued when a link request commits.
- ``sms_reply_send_task``: a reply the webhook could not give in TwiML, for a message it put in
  the Redis spool while PostgreSQL was down and the relay wrote later.
- ``media_cleanup_task``: the hourly clean-up (Celery beat).

Each keeps the name it was registered under before it was renamed (``name=``), so tasks already
waiting in a broker queue still find it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from sms.clients.twilio import (
    TwilioPermanentError,
    TwilioTransientError,
)
from sms.masking import mask_phone
from sms.models import OutboundPurpose
from sms.services.linking import verification_code_send
from smsgateway.logs import log_context

logger = logging.getLogger(__name__)

VERIFICATION_SEND_MAX_RETRIES = 3


@shared_task(
    bind=True,
    name="sms.tasks.phone_number_verification_send",
    max_retries=VERIFICATION_SEND_MAX_RETRIES,
    ignore_result=True,
)
def verification_code_send_task(self: Any, phone_number_id: int, sealed_code: str) -> None:
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


@shared_task(name="sms.tasks.process_inbound_message", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def inbound_message_process_task(message_id: int, message_sid: str | None = None) -> str:
    """Turn a stored message into pending enrichment items
    (``sms.processing.pipeline.inbound_message_process``, idempotent).

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


@shared_task(bind=True, name="sms.tasks.sms_reply_send", max_retries=3, ignore_result=True)
def sms_reply_send_task(self: Any, *, to: str, body: str, purpose: str = OutboundPurpose.INSTRUCTIONS) -> None:
    """Send a reply the webhook could not give in TwiML (``sms.services.outbound.sms_reply_send``):
    the relay enqueues it when it writes a message from the spool. Twilio outages are retried."""
    from sms.services.outbound import sms_reply_send

    try:
        sms_reply_send(to=to, body=body, purpose=str(purpose))
    except TwilioTransientError as exc:
        if self.request.is_eager:
            logger.warning("reply to %s not sent: Twilio unavailable", mask_phone(to))
            return
        raise self.retry(exc=exc, countdown=15 * 2**self.request.retries) from exc
    except TwilioPermanentError as exc:
        logger.warning("reply to %s refused by Twilio (%s)", mask_phone(to), exc.code)


@shared_task(name="sms.tasks.cleanup_media")
def media_cleanup_task() -> dict[str, int]:
    """Periodic (Celery beat): stale temp files and stored media past retention
    (``sms.services.cleanup.media_cleanup``)."""
    from sms.services.cleanup import media_cleanup

    result = media_cleanup()
    return {"temp_files": result.temp_files, "stored_files": result.stored_files}
