"""Celery tasks of the SMS app. Tasks take ids, call one service and own their retry policy."""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


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
