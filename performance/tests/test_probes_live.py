"""Readiness on a real gunicorn whose PostgreSQL and Redis connections go through TCP proxies that
a test cuts: ready while the webhook can take a message (PostgreSQL, or the Redis spool), and the
probes and the health document reuse their connections instead of opening one per call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from django.conf import settings
from django.db import connection

from devkit.payloads import load_payload, with_new_sid
from sms.tests.webhook_client import sign
from tests.live import Gunicorn
from tests.proxy import TcpProxy

pytestmark = [pytest.mark.live]


class Stack:
    def __init__(self, web: Gunicorn, pg: TcpProxy, redis: TcpProxy) -> None:
        self.web, self.pg, self.redis = web, pg, redis

    def get(self, path: str) -> requests.Response:
        return requests.get(self.web.url + path, timeout=10)


@pytest.fixture(scope="module")
def stack(django_db_setup: None) -> Iterator[Stack]:
    db = connection.settings_dict
    location = str(settings.CACHES["default"]["LOCATION"])
    redis_port = int(location.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    with TcpProxy(int(db["PORT"] or 5432)) as pg, TcpProxy(redis_port) as redis:
        env = {
            "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{pg.port}/{db['NAME']}",
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/{location.rsplit('/', 1)[-1]}",
            "PERFORMANCE_HEALTH_CACHE_SECONDS": "0",  # every health call runs its checks
        }
        with Gunicorn(workers=1, **env) as web:  # type: ignore[arg-type]  # env holds only str settings
            yield Stack(web, pg, redis)


@contextmanager
def _cut(*proxies: TcpProxy) -> Iterator[None]:
    for proxy in proxies:
        proxy.cut()
    try:
        yield
    finally:
        for proxy in proxies:
            proxy.restore()


def test_ready_when_postgresql_and_redis_answer(stack: Stack) -> None:
    response = stack.get("/readyz")
    assert (response.status_code, response.text) == (200, "ready\n")


def test_ready_when_redis_is_down_although_the_health_document_fails(stack: Stack) -> None:
    with _cut(stack.redis):
        assert stack.get("/readyz").status_code == 200
        health = stack.get("/api/sms/performance/health")
        assert (health.status_code, health.json()["failing"]) == (503, ["cache", "broker"])


def test_ready_when_postgresql_is_down_and_the_webhook_spools(stack: Stack) -> None:
    with _cut(stack.pg):
        assert stack.get("/readyz").status_code == 200
        url = stack.web.url + "/api/sms/webhook"
        params = with_new_sid(load_payload("inbound_sms__plain"))
        answer = requests.post(url, data=params, headers={"X-Twilio-Signature": sign(url, params)}, timeout=10)
        assert (answer.status_code, answer.headers["X-SMS-Outcome"]) == (200, "spooled")


def test_not_ready_when_postgresql_and_redis_are_down(stack: Stack) -> None:
    with _cut(stack.pg, stack.redis):
        response = stack.get("/readyz")
        assert (response.status_code, response.text) == (503, "not ready\n")
        assert stack.get("/healthz").status_code == 200  # alive: nothing to restart


def test_ready_again_once_postgresql_and_redis_are_back(stack: Stack) -> None:
    with _cut(stack.pg, stack.redis):
        assert stack.get("/readyz").status_code == 503
    assert stack.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_probe_and_health_calls_reuse_one_database_connection(stack: Stack) -> None:
    def backends() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return {int(row[0]) for row in cursor.fetchall()}

    assert stack.get("/readyz").status_code == 200
    first = backends()
    seen: set[int] = set()
    for _ in range(15):  # the health cache is off: every call runs the checks
        assert stack.get("/readyz").status_code == 200
        assert stack.get("/api/sms/performance/health").status_code == 200
        seen |= backends()
    # The probe thread's connection and the request threads' persistent ones: no new one per call.
    assert first and seen == first
