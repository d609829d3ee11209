"""Did every accepted message of a run become items? The run's rows, by status, once processing
has drained (``end_to_end_drain``: the wait ``loadtest --drain`` allows).

A run's messages are the InboundMessage rows whose MessageSid starts with ``SM``/``MM`` and
the run id (loadtesting.traffic.run_message_sid). The row is the outbox: the webhook stores it
and the relay (``manage.py sms_relay``) hands it to Celery, so every one must end ``processed``
or ``failed``; one still ``received`` without ``queued_at`` was never handed over
(``unrelayed``). A message the webhook spooled while PostgreSQL was down has no row until the
relay writes it from the spool, and counts from then. Keyword deliveries (STOP/START/HELP) are
stored too, already ``processed`` and with a ``keyword_`` outcome, only so that a replay is
recognised; they are not part of the end-to-end figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet

from loadtesting.report import percentile
from sms.models import InboundMessage, MessageStatus
from sms.services.intake import KEYWORD_OUTCOME_PREFIX


def run_messages(run_id: str) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(
        Q(message_sid__startswith=f"SM{run_id}") | Q(message_sid__startswith=f"MM{run_id}")
    ).exclude(outcome__startswith=KEYWORD_OUTCOME_PREFIX)


def end_to_end_summary(run_id: str) -> dict[str, Any]:
    """Counts by status and received→processed latency of the run's accepted messages."""
    rows = run_messages(run_id)
    counts = dict.fromkeys(MessageStatus.values, 0)
    for status, n in rows.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"):
        counts[status] = n
    durations: list[timedelta] = list(
        rows.filter(status=MessageStatus.PROCESSED, processed_at__isnull=False)
        .annotate(latency=ExpressionWrapper(F("processed_at") - F("received_at"), output_field=DurationField()))
        .values_list("latency", flat=True)
    )
    latencies = sorted(d.total_seconds() * 1000 for d in durations)
    # Stored but never handed to the broker: the relay (manage.py sms_relay) is not running or
    # the broker is down. Shown apart so a stalled run names its cause.
    unrelayed = rows.filter(status=MessageStatus.RECEIVED, queued_at__isnull=True).count() if counts["received"] else 0
    accepted = sum(counts.values())
    processed = counts[MessageStatus.PROCESSED]
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    return {
        "accepted": accepted,
        "processed": processed,
        "failed": counts[MessageStatus.FAILED],
        "pending": counts[MessageStatus.RECEIVED] + counts[MessageStatus.PROCESSING],
        "unrelayed": unrelayed,
        "unprocessed": accepted - processed,
        "p50_ms": None if p50 is None else round(p50, 1),
        "p95_ms": None if p95 is None else round(p95, 1),
    }


def end_to_end_drain(
    run_id: str,
    *,
    timeout: float,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Wait up to ``timeout`` seconds for the run's messages to leave received/processing."""
    started = clock()
    while True:
        summary = end_to_end_summary(run_id)
        waited = clock() - started
        if summary["pending"] == 0 or waited >= timeout:
            break
        sleep(min(poll, max(timeout - waited, 0)))
    summary["drained"] = summary["pending"] == 0
    summary["waited_s"] = round(waited, 2)
    return summary


def database_reachable() -> bool:
    try:
        connection.ensure_connection()
    except Exception:
        return False
    return True
