"""Outages and crashes on the real stack: gunicorn, ``manage.py sms_relay`` and a Celery worker on
127.0.0.1, with the service's own connections to PostgreSQL or Redis cut by a TCP proxy and
restored (the machine's servers keep running). Every delivery answered 200 ends processed, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests
from django.conf import settings
from django.db import connection

from devkit.payloads import load_payload, with_new_sid
from sms.models import InboundMessage, MessageStatus
from sms.relay import outbox_waiting_count
from sms.spool import spool_state
from sms.tests.factories import phone_number_create
from tests.live import Gunicorn, ServerProcess
from tests.proxy import TcpProxy
from tests.worker import CeleryWorker, RelayProcess

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SENDER = "+14155550100"
STRANGER = "+14155550199"


def _database_url(port: int) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@127.0.0.1:{port}/{db['NAME']}"


def _redis_url(port: int) -> str:
    location = str(settings.CACHES["default"]["LOCATION"])
    return f"redis://127.0.0.1:{port}/{location.rsplit('/', 1)[-1]}"


def _texts(n: int, tag: str, sender: str = SENDER) -> list[dict[str, str]]:
    return [with_new_sid(load_payload("inbound_sms__plain", From=sender, Body=f"{tag} note {i}")) for i in range(n)]


def _outcomes(web: Gunicorn, session: requests.Session, texts: list[dict[str, str]]) -> list[str]:
    return [web.post_webhook(params, session=session).headers["X-SMS-Outcome"] for params in texts]


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, *servers: ServerProcess) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    logs = "\n".join(server.output()[-3000:] for server in servers)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")


def _all_processed(sids: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        done = InboundMessage.objects.filter(message_sid__in=sids, status=MessageStatus.PROCESSED).count()
        return done == len(sids)

    return check


def _assert_processed_once(sids: list[str]) -> None:
    rows = list(InboundMessage.objects.filter(message_sid__in=sids).values_list("message_sid", "status", "attempts"))
    assert len(rows) == len(set(sids))
    assert {(status, attempts) for _, status, attempts in rows} == {(MessageStatus.PROCESSED, 1)}


@pytest.fixture
def worker_env(fake_twilio) -> dict[str, str]:
    return {"TWILIO_API_BASE_URL": fake_twilio.url, "SMS_RATE_LIMIT_PER_HOUR": "1000"}


@pytest.fixture
def pg_proxy(django_db_setup: None) -> Iterator[TcpProxy]:
    with TcpProxy(int(connection.settings_dict["PORT"] or 5432)) as proxy:
        yield proxy


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    location = str(settings.CACHES["default"]["LOCATION"])
    port = int(location.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    with TcpProxy(port) as proxy:
        yield proxy


@contextmanager
def _stack(env: dict[str, str]) -> Iterator[tuple[Gunicorn, RelayProcess, CeleryWorker, requests.Session]]:
    """The service as deployed: gunicorn, the relay and a worker, all on ``env``."""
    with (
        Gunicorn(workers=2, **env) as web,  # type: ignore[arg-type]  # env holds only str settings
        RelayProcess(env=env) as relay,
        CeleryWorker(env=env) as worker,
        requests.Session() as session,
    ):
        yield web, relay, worker, session


def test_postgresql_cut_every_delivery_is_answered_200_spooled_and_processed_once(pg_proxy, worker_env, fake_twilio):
    phone_number_create(number=SENDER, verified=True)
    env = {**worker_env, "DATABASE_URL": _database_url(pg_proxy.port)}
    with _stack(env) as (web, relay, worker, session):
        before = _texts(5, "before")
        assert _outcomes(web, session, before) == ["accepted"] * 5

        pg_proxy.cut()
        during = _texts(20, "during")
        answers = [web.post_webhook(p, session=session) for p in during]
        # Twilio retrying one delivery, and a number the cache does not know (decided at drain).
        retried = web.post_webhook(during[0], session=session)
        stranger = _texts(1, "hello", sender=STRANGER)[0]
        unknown = web.post_webhook(stranger, session=session)
        assert {(r.status_code, r.headers["X-SMS-Outcome"]) for r in answers} == {(200, "spooled")}
        assert (retried.status_code, unknown.status_code) == (200, 200)
        assert (spool_state() or pytest.fail("no spool")).depth == 22
        assert "***0100" in web.output() and SENDER not in web.output()

        pg_proxy.restore()
        sids = [p["MessageSid"] for p in before + during]
        _wait_for(_all_processed(sids), 60, "every message processed", web, relay, worker)
        _wait_for(lambda: getattr(spool_state(), "depth", None) == 0, 10, "an empty spool", relay)
        time.sleep(2)  # time for a duplicate to show up, if there were one

    _assert_processed_once(sids)
    # The stranger's message was decided at drain time: not stored, told how to link by SMS.
    assert not InboundMessage.objects.filter(message_sid=stranger["MessageSid"]).exists()
    assert any(sent.to == STRANGER for sent in fake_twilio.sent)


def test_postgresql_and_redis_both_down_is_a_503_with_retry_after(django_db_setup: None) -> None:
    from tests.live import free_port

    dead = free_port()
    with Gunicorn(workers=1, DATABASE_URL=_database_url(dead), REDIS_URL=f"redis://127.0.0.1:{dead}/0") as web:
        response = web.post_webhook(_texts(1, "lost")[0])
        output = web.output()
    assert response.status_code == 503
    assert response.headers["X-SMS-Outcome"] == "unavailable"
    assert response.headers["Retry-After"] == "5"
    assert "neither database nor spool" in output and "***0100" in output and SENDER not in output


def test_redis_cut_every_accepted_delivery_is_processed_after_the_restore(redis_proxy, worker_env):
    phone_number_create(number=SENDER, verified=True)
    env = {**worker_env, "REDIS_URL": _redis_url(redis_proxy.port)}
    with _stack(env) as (web, relay, worker, session):
        before = _texts(5, "before")
        assert _outcomes(web, session, before) == ["accepted"] * 5
        _wait_for(_all_processed([p["MessageSid"] for p in before]), 30, "the first messages", relay, worker)

        redis_proxy.cut()
        during = _texts(20, "during")
        assert _outcomes(web, session, during) == ["accepted"] * 20
        _wait_for(lambda: "broker unavailable" in relay.output(), 30, "the relay to meet the broker outage", relay)
        assert outbox_waiting_count() == 20

        redis_proxy.restore()
        sids = [p["MessageSid"] for p in before + during]
        _wait_for(_all_processed(sids), 60, "every message processed", web, relay, worker)
        time.sleep(2)

    assert "broker unavailable" in relay.output()
    _assert_processed_once(sids)


def test_relay_killed_mid_batch_and_two_relays_racing_lose_and_duplicate_nothing(worker_env):
    from sms.services.intake import inbound_message_store
    from sms.webhook.payload import inbound_sms_parse

    user = phone_number_create(number=SENDER, verified=True).user
    env = {**worker_env, "SMS_RELAY_BATCH_SIZE": "10"}
    sids = []
    for params in _texts(300, "race"):
        inbound_message_store(sms=inbound_sms_parse(params), user_id=user.pk)
        sids.append(params["MessageSid"])
    with CeleryWorker(env=env, concurrency=2) as worker:
        first, second = RelayProcess(env=env).start(), RelayProcess(env=env).start()
        _wait_for(
            lambda: InboundMessage.objects.filter(message_sid__in=sids, queued_at__isnull=False).exists(),
            30,
            "the first hand-over",
            first,
            second,
        )
        first.kill()  # mid-batch: its open transaction is rolled back, its rows stay unclaimed
        third = RelayProcess(env=env).start()
        try:
            _wait_for(_all_processed(sids), 90, "every message processed", second, third, worker)
            time.sleep(2)
        finally:
            second.stop()
            third.stop()
    _assert_processed_once(sids)
