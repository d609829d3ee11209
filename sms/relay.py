"""The outbox relay: hands stored messages to Celery, sweeps what was left behind, drains the spool.

The webhook only stores a message (``sms/services/intake.py``); this process, ``manage.py
sms_relay``, moves it on (docs/ARCHITECTURE.md, "The outbox"):

- **Dispatch.** ``received`` rows with no ``queued_at`` (and a due ``retry_at``) are claimed with
  ``FOR UPDATE SKIP LOCKED``, published to the broker and stamped ``queued_at`` in the same
  transaction, so several relays never hand out one message twice and a relay killed mid-batch
  leaves its batch unclaimed. A PostgreSQL trigger NOTIFYs ``sms_outbox`` on every insert, so a
  new message is dispatched within milliseconds; a poll every ``SMS_RELAY_POLL_SECONDS`` covers
  lost notifications and due retries. When the broker does not answer, nothing is stamped and
  the messages wait (``smsgw_outbox_waiting``) until it does.
- **Sweep**, every ``SMS_RELAY_SWEEP_SECONDS``: a claim whose lease ran out (its worker died) goes
  back to the outbox; so does a message handed to the broker more than ``SMS_RELAY_REQUEUE_SECONDS``
  ago and never claimed (lost with the broker, or with a worker that had reserved it) — unless it
  can still be waiting in the queue behind older tasks, which the queue's oldest entry tells.
- **Spool.** Messages the webhook spooled while PostgreSQL was down are written through the same
  intake decision, deduplicated by MessageSid.

Processing is idempotent (the claim is atomic and leased), so a message handed out twice is still
processed once. With eager tasks (the embedded default) dispatch runs each task in this process.
"""

from __future__ import annotations

import json
import logging
import select
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from performance import metrics
from performance.backlog import Backlog
from performance.caches import redis_client
from sms.models import InboundMessage, MessageStatus
from smsgateway.heartbeat import heartbeat_touch
from smsgateway.logs import log_context

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "sms_outbox"
# Header carried by every message the relay publishes: when it was handed over (epoch seconds).
QUEUED_AT_HEADER = "smsgw_queued_at"
# Publish order and queued_at may differ by clock skew between relays.
REQUEUE_GRACE = timedelta(seconds=5)


@dataclass
class RelayPass:
    dispatched: int = 0
    requeued: int = 0
    drained: int = 0
    waiting: int = 0  # left unpublished because the broker did not answer


def _is_eager() -> bool:
    from smsgateway.celery import app

    return bool(app.conf.task_always_eager)


def outbox_dispatch(*, batch: int | None = None) -> tuple[int, int]:
    """Hand due outbox messages to the broker. Returns (dispatched, left waiting)."""
    from sms.tasks import inbound_message_process_task

    batch = batch or settings.SMS_RELAY_BATCH_SIZE
    now = timezone.now()
    due = Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    eager = _is_eager()
    published: list[dict[str, Any]] = []
    with transaction.atomic():
        # Each task's keyword arguments name the message, so that Celery's own log lines about
        # the task (received, succeeded, retried) carry its id and MessageSid (smsgateway/logs.py).
        due_messages = [
            {"message_id": message_id, "message_sid": message_sid}
            for message_id, message_sid in InboundMessage.objects.select_for_update(skip_locked=True)
            .filter(due, status=MessageStatus.RECEIVED, queued_at__isnull=True)
            .order_by("id")
            .values_list("id", "message_sid")[:batch]
        ]
        if not due_messages:
            return 0, 0
        if eager:
            published = due_messages  # run after commit, below: never inside this transaction
        else:
            for task_kwargs in due_messages:
                try:
                    inbound_message_process_task.apply_async(
                        kwargs=task_kwargs, headers={QUEUED_AT_HEADER: now.timestamp()}, retry=False
                    )
                except Exception:
                    metrics.RELAY_PUBLISH_ERRORS.inc()
                    logger.warning("relay: broker unavailable; %s message(s) wait", len(due_messages) - len(published))
                    break
                published.append(task_kwargs)
        InboundMessage.objects.filter(pk__in=[m["message_id"] for m in published]).update(queued_at=now)
    if eager:
        for task_kwargs in published:
            inbound_message_process_task.apply(kwargs=task_kwargs)
    metrics.RELAY_DISPATCHED.inc(len(published))
    return len(published), len(due_messages) - len(published)


def _oldest_waiting_in_broker() -> datetime | None:
    """When the oldest task still waiting in the queue was handed over; None when the queue is
    empty or cannot tell (then only the plain threshold applies)."""
    if _is_eager():
        return None
    client = _broker_client()
    if client is None:
        return None
    # kombu's Redis transport pushes on the left and workers pop on the right: the oldest is last.
    raw = client.lindex(settings.CELERY_TASK_DEFAULT_QUEUE, -1)
    if raw is None:
        return None
    try:
        stamp = json.loads(raw)["headers"].get(QUEUED_AT_HEADER)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None if stamp is None else datetime.fromtimestamp(float(stamp), tz=timezone.get_current_timezone())


_broker: Any = None


def _broker_client() -> Any | None:
    global _broker
    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    if _broker is None:
        import redis

        _broker = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return _broker


def outbox_sweep() -> int:
    """Put back in the outbox what a dead worker, relay or broker left behind. Returns how many."""
    now = timezone.now()
    expired = InboundMessage.objects.filter(status=MessageStatus.PROCESSING, lease_expires_at__lt=now).update(
        status=MessageStatus.RECEIVED, queued_at=None, lease_expires_at=None
    )
    cutoff = now - timedelta(seconds=settings.SMS_RELAY_REQUEUE_SECONDS)
    try:
        oldest_waiting = _oldest_waiting_in_broker()
    except Exception:
        logger.warning("relay: cannot read the broker queue; sweeping by age only", exc_info=True)
        oldest_waiting = None
    if oldest_waiting is not None:
        # Everything handed over before the oldest waiting task has left the queue: if it was
        # never claimed, it is lost. Later ones may just be waiting their turn.
        cutoff = min(cutoff, oldest_waiting - REQUEUE_GRACE)
    lost = InboundMessage.objects.filter(status=MessageStatus.RECEIVED, queued_at__lt=cutoff).update(queued_at=None)
    if expired:
        metrics.RELAY_REQUEUED.labels("lease_expired").inc(expired)
        logger.warning("relay: %s claim(s) expired (worker gone); handing them out again", expired)
    if lost:
        metrics.RELAY_REQUEUED.labels("lost").inc(lost)
        logger.warning("relay: %s message(s) handed over but never claimed; handing them out again", lost)
    return expired + lost


def outbox_waiting_count() -> int:
    """Stored messages not yet handed to the broker (sms_msg_outbox_idx); also sets the gauge."""
    count = InboundMessage.objects.filter(status=MessageStatus.RECEIVED, queued_at__isnull=True).count()
    metrics.OUTBOX_WAITING.set(count)
    return count


def outbox_backlogs() -> list[Backlog]:
    """The outbox for the performance figures and health (performance/backlog.py)."""
    from django.db.models import Count, Min

    now = timezone.now()
    row = InboundMessage.objects.filter(status=MessageStatus.RECEIVED, queued_at__isnull=True).aggregate(
        n=Count("id"), oldest=Min("received_at")
    )
    oldest = None if row["oldest"] is None else round(max(0.0, (now - row["oldest"]).total_seconds()), 1)
    metrics.OUTBOX_WAITING.set(row["n"])
    found = [
        Backlog(
            name="outbox",
            depth=row["n"],
            oldest_seconds=oldest,
            # Dispatch takes milliseconds: a message waiting this long means no relay runs, or
            # the broker is down.
            degrades=oldest is not None and oldest > settings.SMS_RELAY_REQUEUE_SECONDS,
            help="stored, not yet handed to the broker",
        )
    ]
    return found


def spool_backlogs() -> list[Backlog]:
    """The intake spool (none on the embedded default, which has no Redis)."""
    from sms.spool import spool_state

    spool = spool_state()
    if spool is None:
        return []
    return [
        Backlog(
            name="spool",
            depth=spool.depth,
            oldest_seconds=spool.oldest_seconds,
            degrades=True,
            help="accepted while PostgreSQL was down, not yet written",
        ),
        Backlog(name="spool_dead", depth=spool.dead, degrades=True, help="spooled messages that cannot be written"),
    ]


def spool_drain(*, batch: int | None = None) -> int:
    """Write spooled messages now that the database answers. Returns how many were written."""
    from django.db import InterfaceError, OperationalError

    from sms.services.intake import inbound_message_drain
    from sms.spool import spool_ack, spool_bury, spool_claim, spool_recover, spool_release

    if redis_client() is None:
        return 0
    spool_recover()
    drained = 0
    claimed = spool_claim(batch=batch or settings.SMS_RELAY_BATCH_SIZE)
    for position, (raw, entry) in enumerate(claimed):
        try:
            with log_context(message_sid=entry.sms.message_sid):
                inbound_message_drain(entry=entry)
        except (OperationalError, InterfaceError):
            # Still down: give the rest back now, so the next pass (or another relay) takes them.
            spool_release([r for r, _ in claimed[position:]])
            logger.warning("relay: database still unavailable; spool drain paused")
            break
        except Exception:
            logger.exception("relay: spooled message %s cannot be written", entry.sms.message_sid)
            spool_bury(raw, reason="error")
            continue
        spool_ack(raw)
        drained += 1
    return drained


class Relay:
    """The relay loop: LISTEN for inserts, dispatch, sweep and drain, until ``stop`` is set."""

    def __init__(self, *, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()
        self._listener: Any = None
        self._next_sweep = 0.0

    def run_once(self) -> RelayPass:
        result = RelayPass()
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + settings.SMS_RELAY_SWEEP_SECONDS
            result.requeued = outbox_sweep()
            result.waiting = outbox_waiting_count()
        try:
            result.drained = spool_drain()
        except RedisError:
            # Redis down: nothing can be in a spool we cannot read; dispatch still runs and counts
            # what waits for the broker.
            logger.warning("relay: Redis unavailable; spool not drained this pass")
        while True:
            dispatched, waiting = outbox_dispatch()
            result.dispatched += dispatched
            if waiting:
                result.waiting = outbox_waiting_count()
                break
            if dispatched < settings.SMS_RELAY_BATCH_SIZE:
                break
        return result

    def run_forever(self) -> None:
        logger.info("relay started (%s)", "LISTEN/NOTIFY" if self._listen() else "polling")
        backoff = 0.0
        while not self.stop.is_set():
            try:
                passed = self.run_once()
                backoff = 1.0 if passed.waiting else 0.0
                heartbeat_touch(path=settings.SMS_RELAY_HEARTBEAT_FILE)
            except Exception:
                # PostgreSQL or Redis down: keep going, slower, until they answer.
                logger.warning("relay pass failed; retrying", exc_info=True)
                connection.close()
                self._close_listener()
                backoff = min(max(backoff * 2, 0.5), 5.0)
            if backoff:
                self.stop.wait(backoff)
                continue
            self._wait()
        self._close_listener()
        logger.info("relay stopped")

    # --- notifications ------------------------------------------------------------------
    def _listen(self) -> bool:
        if connection.vendor != "postgresql" or not settings.SMS_RELAY_LISTEN:
            return False
        if self._listener is not None:
            return True
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        params.pop("server_side_binding", None)
        try:
            listener = psycopg.connect(**params, autocommit=True)
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except psycopg.Error:
            logger.warning("relay: cannot LISTEN; polling", exc_info=True)
            return False
        self._listener = listener
        return True

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:
                logger.debug("closing the listener failed", exc_info=True)
            self._listener = None

    def _wait(self) -> None:
        """Until a notification, the poll interval or the next sweep, whichever comes first."""
        timeout = min(settings.SMS_RELAY_POLL_SECONDS, max(0.0, self._next_sweep - time.monotonic()))
        if not self._listen():
            self.stop.wait(timeout)
            return
        listener = self._listener
        try:
            ready, _, _ = select.select([listener.fileno()], [], [], timeout)
            if ready:
                # Consume every pending notification: one pass serves them all.
                for _ in listener.notifies(timeout=0):
                    pass
        except Exception:
            logger.warning("relay: notification connection lost", exc_info=True)
            self._close_listener()
