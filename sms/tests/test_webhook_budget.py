"""The hot-path budget for a cached, verified sender (docs/PERFORMANCE.md): 0 database reads,
one write transaction, at most 2 Redis round trips, and no broker publish (the relay does that).
Once this process's near cache holds the sender (performance/nearcache.py), one round trip; an
unknown sender texting again costs none."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from redis.connection import AbstractConnection

from devkit.payloads import load_payload, with_new_sid
from sms.models import InboundMessage
from sms.tests.factories import phone_number_create
from sms.tests.webhook_client import post_webhook
from smsgateway.celery import app as celery_app

# Real commits (no test transaction around the request), so what is counted is what production runs.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_broker")]

SENDER = "+14155550100"


@contextmanager
def redis_round_trips() -> Iterator[list[bytes]]:
    """Every command (or pipeline) any redis-py connection sends, cache and broker alike."""
    sent: list[bytes] = []
    real = AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        packed = command if isinstance(command, bytes | str) else b"".join(bytes(c) for c in command)
        sent.append(packed if isinstance(packed, bytes) else packed.encode())
        return real(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = real  # type: ignore[method-assign]


def _sms() -> dict[str, str]:
    return with_new_sid(load_payload("inbound_sms__plain"))


def test_cached_verified_sender_costs_no_read_and_one_insert() -> None:
    phone_number_create(number=SENDER, verified=True)
    post_webhook(Client(), _sms())  # warms the phone_lookup cache
    params = _sms()
    with CaptureQueriesContext(connection) as queries:
        response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "accepted"
    statements = [q["sql"] for q in queries.captured_queries]
    # One write transaction (a single INSERT in autocommit is one), and not a single read.
    assert [s.split(" ")[0] for s in statements] == ["INSERT"], statements
    assert connection.get_autocommit()
    assert statements[0].startswith("INSERT INTO sms_inboundmessage")
    assert InboundMessage.objects.filter(message_sid=params["MessageSid"]).exists()


def test_cached_verified_mms_writes_message_and_media_in_one_transaction() -> None:
    phone_number_create(number=SENDER, verified=True)
    post_webhook(Client(), _sms())
    params = with_new_sid(load_payload("inbound_mms__voice_image_vcard"))
    with CaptureQueriesContext(connection) as queries:
        post_webhook(Client(), params)
    statements = [q["sql"] for q in queries.captured_queries]
    assert [s.split(" ")[0:3] for s in statements] == [
        ["BEGIN"],
        ["INSERT", "INTO", "sms_inboundmessage"],
        ["INSERT", "INTO", '"sms_mediaattachment"'],
        ["COMMIT"],
    ]


def test_cached_verified_sender_costs_two_redis_round_trips_and_no_publish() -> None:
    phone_number_create(number=SENDER, verified=True)
    post_webhook(Client(), _sms())  # warms caches and the rate-limit script
    params = _sms()
    with redis_round_trips() as sent:
        response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "accepted"
    commands = [c.split(b"\r\n")[2].upper() for c in sent]
    print("redis round trips:", [c.decode() for c in commands])
    # Sender + over-limit state in one MGET, the sliding window in one script call; every
    # redis-py connection is counted (cache and broker alike), and nothing reaches the broker.
    assert commands == [b"MGET", b"EVALSHA"], commands
    assert celery_app.conf.task_always_eager is False
    assert InboundMessage.objects.get(message_sid=params["MessageSid"]).queued_at is None


def _commands(sent: list[bytes]) -> list[bytes]:
    return [c.split(b"\r\n")[2].upper() for c in sent]


def test_a_sender_in_the_near_cache_costs_only_the_rate_limit_script() -> None:
    phone_number_create(number=SENDER, verified=True)
    post_webhook(Client(), _sms())  # loads the sender from the database into Redis
    post_webhook(Client(), _sms())  # reads it from Redis into this process's near cache
    params = _sms()
    with redis_round_trips() as sent:
        response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "accepted"
    assert _commands(sent) == [b"EVALSHA"], _commands(sent)
    assert InboundMessage.objects.filter(message_sid=params["MessageSid"]).exists()


def test_an_unknown_sender_texting_again_costs_no_round_trip() -> None:
    stranger = {**_sms(), "From": "+14155550199"}
    first = post_webhook(Client(), stranger)
    assert first["X-SMS-Outcome"] == "unknown_sender" and b"<Message>" in first.content
    post_webhook(Client(), with_new_sid(stranger))  # instructions went: read into the near cache
    with redis_round_trips() as sent, CaptureQueriesContext(connection) as queries:
        response = post_webhook(Client(), with_new_sid(stranger))
    assert response["X-SMS-Outcome"] == "unknown_sender"
    assert b"<Message>" not in response.content  # told once per interval, not again
    assert sent == [] and queries.captured_queries == []
