"""Celery tasks of the SMS app. Each takes ids, loads rows, calls one service, and owns its retry policy."""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from performance import metrics
from sms.caches import verification_status_cache
from sms.clients.twilio import (
    TwilioInvalidNumberError,
    TwilioPermanentError,
    TwilioRecipientOptedOutError,
    TwilioTransientError,
    get_twilio_client,
)
from sms.masking import mask_phone
from sms.models import PhoneNumber, SendStatus
from sms.selectors import number_is_opted_out

logger = logging.getLogger(__name__)

VERIFICATION_SEND_MAX_RETRIES = 3


def _send_status_set(phone_number_id: int, code_hash: str, status: str, error: str = "") -> None:
    """Record the outcome on the row, unless a newer code replaced this one meanwhile."""
    updated = PhoneNumber.objects.filter(pk=phone_number_id, verification_code_hash=code_hash).update(
        last_send_status=status, last_send_error=error
    )
    if updated:
        user_id = PhoneNumber.objects.filter(pk=phone_number_id).values_list("user_id", flat=True).first()
        if user_id is not None:
            verification_status_cache().delete(str(user_id))


@shared_task(bind=True, max_retries=VERIFICATION_SEND_MAX_RETRIES, ignore_result=True)
def phone_number_verification_send(self: Any, phone_number_id: int, code: str) -> None:
    """Text ``code`` to the number it was issued for.

    Skips quietly when the row is gone (unlinked, account deleted), already verified, or the
    code was superseded by a newer one. Never texts an opted-out number. Twilio outages are
    retried by the worker with backoff (the HTTP client has already retried quickly); permanent errors are
    recorded for the GET to show, and 21610 marks the number opted out.
    """
    from sms.services.linking import verification_code_hash
    from sms.services.opt_out import phone_number_opt_out_set

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
        get_twilio_client().send_sms(to=phone.number, body=body)
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
    _send_status_set(phone.pk, code_hash, SendStatus.SENT)
    logger.info("verification code sent to %s", mask_phone(phone.number))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def process_inbound_message(self: Task, message_id: int) -> object:
    """Turn an accepted message into pending enrichment items (idempotent).

    Transient failures are retried with exponential backoff and jitter, up to
    ``SMS_PROCESSING_MAX_RETRIES`` times; acks are late, so a worker killed mid-task leaves the
    message in the broker to be delivered again.
    """
    # Imported here: the web process enqueues this task but must not load PyAV and the
    # Speech SDK (seconds of import time and memory per gunicorn worker).
    from sms.services.processing import inbound_message_process

    max_retries = settings.SMS_PROCESSING_MAX_RETRIES
    retries = int(self.request.retries or 0)
    result = inbound_message_process(message_id=message_id, is_last_attempt=retries >= max_retries)
    if result.outcome == "retry":
        base = settings.SMS_PROCESSING_RETRY_BACKOFF * (2**retries)
        countdown = base * random.uniform(0.8, 1.2)
        retry = self.retry(countdown=countdown, max_retries=max_retries, throw=False)
        if self.request.is_eager:
            # Eager (embedded default, tests): apply() runs a returned Retry at once instead of
            # propagating it into the caller's on_commit hook.
            return retry
        return "retry"
    return result.outcome


@shared_task
def cleanup_media() -> dict[str, int]:
    """Periodic (Celery beat): stale temp files and stored media past retention."""
    from sms.services.cleanup import media_cleanup

    result = media_cleanup()
    return {"temp_files": result.temp_files, "stored_files": result.stored_files}
