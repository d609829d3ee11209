"""Processing leases: a claimed message stays claimed only while its worker is alive.

``inbound_message_process`` claims a message with a lease of ``SMS_PROCESSING_LEASE_SECONDS``.
While the work runs, one renewer thread per process extends the leases of every message this
process holds, in one UPDATE per message every third of the lease. A worker that dies stops
renewing; the relay's sweep then hands the message out again (``sms/relay.py``). A hold longer
than ``CELERY_TASK_TIME_LIMIT`` is no longer renewed, so a hung task cannot keep a message
forever. The attempt number is the claim's token: only the claim that made it is renewed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)

_lock = threading.Condition()
_held: dict[tuple[int, int], float] = {}  # (message id, attempt) -> monotonic time of the claim
_renewer: threading.Thread | None = None


@contextmanager
def lease_hold(*, message_id: int, attempt: int) -> Iterator[None]:
    """Keep the lease of ``message_id`` (claim ``attempt``) alive while the block runs."""
    global _renewer
    key = (message_id, attempt)
    with _lock:
        _held[key] = time.monotonic()
        if _renewer is None or not _renewer.is_alive():
            _renewer = threading.Thread(target=_renew_loop, name="lease-renewer", daemon=True)
            _renewer.start()
    try:
        yield
    finally:
        with _lock:
            _held.pop(key, None)
            _lock.notify_all()


def leases_renew() -> int:
    """Extend every lease this process holds; returns how many were extended."""
    from sms.models import InboundMessage, MessageStatus

    max_hold = float(settings.CELERY_TASK_TIME_LIMIT)
    now = time.monotonic()
    with _lock:
        keys = [key for key, since in _held.items() if now - since < max_hold]
    expires = timezone.now() + timedelta(seconds=settings.SMS_PROCESSING_LEASE_SECONDS)
    renewed = 0
    for message_id, attempt in keys:
        renewed += InboundMessage.objects.filter(
            pk=message_id, attempts=attempt, status=MessageStatus.PROCESSING
        ).update(lease_expires_at=expires)
    return renewed


def _renew_loop() -> None:
    global _renewer
    interval = max(0.5, settings.SMS_PROCESSING_LEASE_SECONDS / 3)
    try:
        while True:
            with _lock:
                _lock.wait_for(lambda: not _held, timeout=interval)
                if not _held:
                    # Idle: stop, and close this thread's database connection with it.
                    _renewer = None
                    return
            try:
                leases_renew()
            except Exception:
                logger.warning("could not renew processing leases", exc_info=True)
    finally:
        connection.close()
