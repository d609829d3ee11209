from datetime import timedelta

import pytest
from django.utils import timezone

from loadtesting.endtoend import end_to_end_drain, end_to_end_summary
from sms.models import InboundMessage, MessageStatus
from sms.tests.factories import inbound_message_create

RUN = "0badc0de"
pytestmark = pytest.mark.django_db


def message(n, status, *, mms=False, latency_ms=None, outcome="", run=RUN):
    received = timezone.now() - timedelta(seconds=30)
    return inbound_message_create(
        message_sid=("MM" if mms else "SM") + run + f"{n:024x}",
        status=status,
        outcome=outcome,
        received_at=received,
        processed_at=None if latency_ms is None else received + timedelta(milliseconds=latency_ms),
    )


def test_summary_counts_the_runs_messages_by_status_with_latency_percentiles():
    for n, latency in enumerate([100, 200, 300, 400]):
        message(n, MessageStatus.PROCESSED, mms=n % 2 == 1, latency_ms=latency)
    message(10, MessageStatus.FAILED)
    message(11, MessageStatus.RECEIVED)
    message(12, MessageStatus.PROCESSING, mms=True)
    message(20, MessageStatus.RECEIVED, run="feedface")  # another run
    inbound_message_create(message_sid="SM" + "1" * 32)  # not a load-test message
    message(30, MessageStatus.PROCESSED, outcome="keyword_opted_out")  # a STOP: not a note

    summary = end_to_end_summary(RUN)

    assert summary == {
        "accepted": 7,
        "processed": 4,
        "failed": 1,
        "pending": 2,
        "unrelayed": 1,  # the received one: nothing handed it to the broker
        "unprocessed": 3,
        "p50_ms": 250.0,
        "p95_ms": 385.0,
    }


def test_processing_results_count_by_status_whatever_the_outcome_text():
    message(1, MessageStatus.PROCESSED, latency_ms=50, outcome="accepted")
    message(2, MessageStatus.PROCESSED, latency_ms=50, outcome="opted_out")
    message(3, MessageStatus.FAILED, outcome="failed")
    summary = end_to_end_summary(RUN)
    assert (summary["accepted"], summary["processed"], summary["failed"]) == (3, 2, 1)


def test_drain_returns_as_soon_as_nothing_is_pending():
    message(1, MessageStatus.PROCESSED, latency_ms=10)
    summary = end_to_end_drain(RUN, timeout=30, sleep=lambda s: pytest.fail("should not wait"))
    assert summary["drained"] is True
    assert summary["pending"] == 0


def test_drain_waits_for_processing_then_reports():
    pending = message(1, MessageStatus.RECEIVED)
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        InboundMessage.objects.filter(pk=pending.pk).update(
            status=MessageStatus.PROCESSED, processed_at=pending.received_at + timedelta(milliseconds=80)
        )

    summary = end_to_end_drain(RUN, timeout=30, poll=0.5, sleep=sleep)
    assert waits == [0.5]
    assert summary["drained"] is True
    assert summary["processed"] == 1
    assert summary["p50_ms"] == 80.0


def test_drain_gives_up_at_the_timeout_and_says_so():
    message(1, MessageStatus.RECEIVED)
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    summary = end_to_end_drain(RUN, timeout=2, poll=0.5, sleep=sleep, clock=lambda: now[0])
    assert summary["drained"] is False
    assert summary["pending"] == 1
    assert summary["waited_s"] == 2.0
