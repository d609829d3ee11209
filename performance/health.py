"""The detailed health document for dashboards: PostgreSQL, Redis (cache) and the Celery broker.

Load balancers and container healthchecks use ``/readyz`` and ``/healthz`` instead
(performance/probes.py): this document fails when any one dependency does, which the webhook
survives (Redis down, PostgreSQL down while the spool takes messages).

Each check runs on its dependency's probe thread, which keeps its connection, and must answer
within ``PERFORMANCE_HEALTH_TIMEOUT`` seconds; nothing else decides health (a cold cache or an
empty queue is healthy). A process answers from its last result for
``PERFORMANCE_HEALTH_CACHE_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from kombu import Connection

from performance.backlog import Backlog, backlogs_read, degraded
from performance.probes import PROBERS, database_select_one

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    milliseconds: float
    error: str = ""


def check_database() -> None:
    database_select_one()


def check_cache() -> None:
    backend: Any = caches["default"]
    if hasattr(backend, "client"):
        if not backend.client.get_client(write=True).ping():
            raise ConnectionError("no PONG")
    else:
        backend.get("smsgw:health")


_broker_clients: dict[tuple[str, float], redis.Redis] = {}


def _broker_client(url: str, timeout: float) -> redis.Redis:
    """One pooled client per broker URL, kept: a check reuses its connection."""
    client = _broker_clients.get((url, timeout))
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        _broker_clients[(url, timeout)] = client
    return client


def check_broker() -> None:
    url = str(settings.CELERY_BROKER_URL)
    timeout = float(settings.PERFORMANCE_HEALTH_TIMEOUT)
    if url.startswith(("redis://", "rediss://")):
        _broker_client(url, timeout).ping()
        return
    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def _result(name: str, future: Future[Any], started: float, deadline: float) -> CheckResult:
    try:
        future.result(timeout=max(deadline - time.monotonic(), 0))
    except FutureTimeout:
        return CheckResult(name, False, (time.monotonic() - started) * 1000, "timeout")
    except Exception as exc:
        # The endpoint is public: it names the exception class only; the log has the details
        # (hosts, ports) an outsider should not read.
        logger.warning("health check %s failed: %s", name, exc)
        return CheckResult(name, False, (time.monotonic() - started) * 1000, type(exc).__name__)
    return CheckResult(name, True, (time.monotonic() - started) * 1000)


@dataclass(frozen=True)
class Health:
    checks: list[CheckResult]
    # Registered backlogs (performance/backlog.py) that hold accepted work waiting on a
    # dependency, e.g. the intake spool while PostgreSQL was down; empty when none or unread.
    degraded: list[str]

    @property
    def failing(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]

    @property
    def status(self) -> str:
        return "failing" if self.failing else "degraded" if self.degraded else "ok"


_cached: tuple[float, Health] | None = None
_cache_lock = threading.Lock()


def health_check() -> Health:
    """The health of this process's dependencies, at most ``PERFORMANCE_HEALTH_CACHE_SECONDS``
    old. Concurrent callers wait for one run instead of each opening connections."""
    global _cached
    ttl = float(settings.PERFORMANCE_HEALTH_CACHE_SECONDS)
    cached = _cached
    if ttl > 0 and cached is not None and time.monotonic() - cached[0] < ttl:
        return cached[1]
    with _cache_lock:
        cached = _cached
        if ttl > 0 and cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        health = health_check_now()
        _cached = (time.monotonic(), health)
    return health


def health_check_now() -> Health:
    """Run every check, and read the backlogs, in parallel on the probe threads
    (performance/probes.py), which keep their connections between runs; a check that has not
    answered by the deadline fails as a timeout (backlogs not read in time are left out)."""
    timeout = float(settings.PERFORMANCE_HEALTH_TIMEOUT)
    started = time.monotonic()
    deadline = started + timeout
    futures = {name: PROBERS[name].submit(fn) for name, fn in CHECKS.items()}
    # After the database check on its thread and connection: the outbox is read in PostgreSQL.
    backlogs = PROBERS["database"].submit(backlogs_read)
    checks = [_result(name, future, started, deadline) for name, future in futures.items()]
    try:
        found: list[Backlog] = backlogs.result(timeout=max(deadline - time.monotonic(), 0))
    except Exception:
        found = []
    return Health(checks=checks, degraded=degraded(found))
