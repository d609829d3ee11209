"""The outbox relay, the intake spool and processing leases, in-process on the real PostgreSQL and
Redis (the live outage tests in test_outage_live.py run them as processes)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_redis import get_redis_connection

from performance import metrics
from sms import leases
from sms.models import InboundMessage, MediaAttachment, MessageStatus
from sms.relay import Relay, outbox_dispatch, outbox_sweep, spool_drain
from sms.spool import (
    DEAD_KEY,
    INFLIGHT_KEY,
    SPOOL_KEY,
    SpoolEntry,
    spool_claim,
    spool_push,
    spool_recover,
    spool_release,
    spool_state,
)
from sms.tests.factories import inbound_message_create, phone_number_create
from sms.webhook.payload import InboundMedia, InboundSms

pytestmark = pytest.mark.django_db

SENDER = "+14155550100"
STRANGER = "+14155550199"


def _sms(n: int, sender: str = SENDER, body: str = "Lunch with Sam", **fields: Any) -> InboundSms:
    return InboundSms(
        message_sid=f"SM{n:032d}", account_sid="AC", from_number=sender, to_number="+15005550006", body=body, **fields
    )


def _entry(n: int, **fields: Any) -> SpoolEntry:
    return SpoolEntry(sms=_sms(n, **fields), received_at=time.time() - 5, is_replied=True)


# --- the spool ------------------------------------------------------------------------------


def test_spooled_entries_come_out_oldest_first_and_survive_a_round_trip() -> None:
    media = (InboundMedia(index=0, url="https://api.twilio.com/m/ME1", content_type="image/jpeg"),)
    for n in range(3):
        assert spool_push(_entry(n, media=media if n == 1 else ()))
    claimed = spool_claim(batch=2)
    assert [entry.sms.message_sid for _, entry in claimed] == [_sms(0).message_sid, _sms(1).message_sid]
    assert claimed[1][1].sms.media == media
    state = spool_state()
    assert state is not None and state.depth == 3  # two in flight, one waiting


def test_two_relays_never_claim_the_same_entry() -> None:
    for n in range(200):
        spool_push(_entry(n))
    taken: list[list[str]] = [[], []]

    def claim(i: int) -> None:
        while batch := spool_claim(batch=7):
            taken[i].extend(entry.sms.message_sid for _, entry in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(taken[0]) & set(taken[1])
    assert len(taken[0]) + len(taken[1]) == 200


def test_a_dead_relays_batch_comes_back_after_its_deadline(settings) -> None:
    settings.SMS_SPOOL_INFLIGHT_SECONDS = 0
    spool_push(_entry(1))
    assert len(spool_claim(batch=10)) == 1
    assert spool_claim(batch=10) == []
    deadline = time.monotonic() + 5
    while not (recovered := spool_recover()) and time.monotonic() < deadline:
        time.sleep(0.005)  # until the clock passes the in-flight deadline (now + 0 s)
    assert recovered == 1
    assert [e.sms.message_sid for _, e in spool_claim(batch=10)] == [_sms(1).message_sid]


def test_released_entries_are_taken_first_again_in_their_order() -> None:
    for n in range(4):
        spool_push(_entry(n))
    claimed = spool_claim(batch=3)
    assert spool_release([raw for raw, _ in claimed[1:]]) == 2
    again = [e.sms.message_sid for _, e in spool_claim(batch=10)]
    assert again == [_sms(1).message_sid, _sms(2).message_sid, _sms(3).message_sid]


def test_an_unreadable_entry_goes_to_the_dead_list() -> None:
    get_redis_connection().lpush(SPOOL_KEY, b"{not json")
    assert spool_claim(batch=10) == []
    assert get_redis_connection().llen(DEAD_KEY) == 1
    assert metrics.sample_total("smsgw_spool_dead_total", {"reason": "unreadable"}) >= 1


# --- draining ---------------------------------------------------------------------------------


def test_drain_writes_a_spooled_message_once_even_when_twilio_retried_it() -> None:
    phone_number_create(number=SENDER, verified=True)
    spool_push(_entry(1))
    spool_push(_entry(1))  # Twilio's retry of the same delivery, spooled too
    assert spool_drain() == 2
    message = InboundMessage.objects.get(message_sid=_sms(1).message_sid)
    assert (message.status, message.outcome, message.body) == (MessageStatus.RECEIVED, "accepted", "Lunch with Sam")
    assert abs((timezone.now() - message.received_at).total_seconds() - 5) < 2  # the webhook's time
    assert InboundMessage.objects.count() == 1
    assert get_redis_connection().zcard(INFLIGHT_KEY) == 0 and get_redis_connection().llen(SPOOL_KEY) == 0


def test_drain_keeps_the_media_rows() -> None:
    phone_number_create(number=SENDER, verified=True)
    media = (InboundMedia(index=0, url="https://api.twilio.com/m/ME1", content_type="image/jpeg"),)
    spool_push(_entry(2, media=media))
    spool_drain()
    attachment = MediaAttachment.objects.get(message__message_sid=_sms(2).message_sid)
    assert (attachment.url, attachment.declared_content_type) == (media[0].url, "image/jpeg")


def test_drain_decides_an_unknown_sender_and_texts_the_instructions(fake_twilio, settings) -> None:
    spool_push(SpoolEntry(sms=_sms(3, sender=STRANGER), received_at=time.time(), is_replied=False))
    spool_drain()
    assert not InboundMessage.objects.exists()
    assert [(m.to, m.body) for m in fake_twilio.sent] == [(STRANGER, settings.SMS_UNKNOWN_SENDER_REPLY)]


def test_drain_does_not_repeat_a_reply_the_webhook_already_gave(fake_twilio) -> None:
    spool_push(SpoolEntry(sms=_sms(4, sender=STRANGER), received_at=time.time(), is_replied=True))
    spool_drain()
    assert fake_twilio.sent == []


def test_drain_with_the_database_still_down_gives_the_batch_back(monkeypatch) -> None:
    from sms.services import intake

    for n in range(3):
        spool_push(_entry(n))

    def down(**kwargs: Any) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(intake, "inbound_message_drain", down)
    assert spool_drain() == 0
    redis = get_redis_connection()
    assert (redis.llen(SPOOL_KEY), redis.zcard(INFLIGHT_KEY)) == (3, 0)


# --- dispatch and sweep ---------------------------------------------------------------------


@pytest.fixture
def not_eager(settings) -> Any:
    from smsgateway.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    settings.CELERY_BROKER_URL = settings.CACHES["default"]["LOCATION"]
    get_redis_connection().delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    yield get_redis_connection()
    app.conf.task_always_eager = saved
    get_redis_connection().delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_dispatch_publishes_each_waiting_message_once_and_stamps_it(not_eager, settings) -> None:
    rows = [inbound_message_create() for _ in range(5)]
    inbound_message_create(queued_at=timezone.now())  # already handed over
    inbound_message_create(retry_at=timezone.now() + timedelta(minutes=1))  # retry not due
    inbound_message_create(status=MessageStatus.PROCESSED)
    assert outbox_dispatch() == (5, 0)
    assert outbox_dispatch() == (0, 0)
    assert not_eager.llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 5
    assert not InboundMessage.objects.filter(pk__in=[r.pk for r in rows], queued_at__isnull=True).exists()


def test_dispatch_with_the_broker_down_stamps_nothing(not_eager, monkeypatch) -> None:
    # The real broker cut is in test_outage_live.py; here, the publish fails as kombu fails it.
    from kombu.exceptions import OperationalError as BrokerDown

    from sms.tasks import inbound_message_process_task

    def down(*args: Any, **kwargs: Any) -> None:
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(inbound_message_process_task, "apply_async", down)
    inbound_message_create()
    before = metrics.sample_total("smsgw_relay_publish_errors_total", {})
    assert outbox_dispatch() == (0, 1)
    assert InboundMessage.objects.filter(queued_at__isnull=True).count() == 1
    assert metrics.sample_total("smsgw_relay_publish_errors_total", {}) == before + 1


def test_sweep_hands_back_expired_leases_and_lost_hand_overs_only(not_eager, settings) -> None:
    now = timezone.now()
    expired = inbound_message_create(status=MessageStatus.PROCESSING, lease_expires_at=now - timedelta(seconds=1))
    alive = inbound_message_create(status=MessageStatus.PROCESSING, lease_expires_at=now + timedelta(seconds=30))
    lost = inbound_message_create(queued_at=now - timedelta(seconds=settings.SMS_RELAY_REQUEUE_SECONDS + 5))
    recent = inbound_message_create(queued_at=now - timedelta(seconds=5))
    assert outbox_sweep() == 2
    state = {m.pk: (m.status, m.queued_at is None) for m in InboundMessage.objects.all()}
    assert state[expired.pk] == (MessageStatus.RECEIVED, True)
    assert state[alive.pk] == (MessageStatus.PROCESSING, True)
    assert state[lost.pk] == (MessageStatus.RECEIVED, True)
    assert state[recent.pk] == (MessageStatus.RECEIVED, False)


def test_sweep_leaves_a_hand_over_still_waiting_in_a_long_queue(not_eager, settings) -> None:
    # The queue's oldest task was handed over two minutes ago: younger ones are only waiting.
    old = timezone.now() - timedelta(seconds=120)
    queued = inbound_message_create(
        queued_at=timezone.now() - timedelta(seconds=settings.SMS_RELAY_REQUEUE_SECONDS + 5)
    )
    not_eager.rpush(settings.CELERY_TASK_DEFAULT_QUEUE, f'{{"headers": {{"smsgw_queued_at": {old.timestamp()}}}}}')
    assert outbox_sweep() == 0
    queued.refresh_from_db()
    assert queued.queued_at is not None


def test_eager_dispatch_processes_after_the_claim_commits(settings) -> None:
    phone = phone_number_create(number=SENDER, verified=True)
    message = inbound_message_create(user=phone.user, body="Dinner with Ana")
    assert outbox_dispatch() == (1, 0)
    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED


def test_one_relay_pass_drains_dispatches_and_reports(settings) -> None:
    phone_number_create(number=SENDER, verified=True)
    spool_push(_entry(9))
    result = Relay().run_once()
    assert (result.drained, result.dispatched) == (1, 1)
    assert InboundMessage.objects.get().status == MessageStatus.PROCESSED


# --- leases ---------------------------------------------------------------------------------


def test_a_held_lease_is_renewed_and_a_released_one_is_not(settings) -> None:
    settings.SMS_PROCESSING_LEASE_SECONDS = 60
    soon = timezone.now() + timedelta(seconds=1)
    held = inbound_message_create(status=MessageStatus.PROCESSING, attempts=1, lease_expires_at=soon)
    other = inbound_message_create(status=MessageStatus.PROCESSING, attempts=1, lease_expires_at=soon)
    with leases.lease_hold(message_id=held.pk, attempt=1):
        assert leases.leases_renew() == 1
    assert leases.leases_renew() == 0
    held.refresh_from_db()
    other.refresh_from_db()
    assert held.lease_expires_at is not None and held.lease_expires_at > soon + timedelta(seconds=50)
    assert other.lease_expires_at == soon


def test_a_claim_taken_over_by_another_attempt_is_not_renewed() -> None:
    soon = timezone.now() + timedelta(seconds=1)
    message = inbound_message_create(status=MessageStatus.PROCESSING, attempts=2, lease_expires_at=soon)
    with leases.lease_hold(message_id=message.pk, attempt=1):  # the first attempt's worker
        assert leases.leases_renew() == 0


def test_relay_listens_for_inserts_on_postgresql() -> None:
    relay = Relay()
    try:
        assert relay._listen() is True
        assert connection.vendor == "postgresql"
    finally:
        relay._close_listener()


def test_relay_polls_only_when_listen_is_off(settings) -> None:
    settings.SMS_RELAY_LISTEN = False
    assert Relay()._listen() is False
