"""Dependency checks for load balancers: PostgreSQL, Redis (cache) and the Celery broker.

Each check runs in its own thread and must answer within ``PERFORMANCE_HEALTH_TIMEOUT``
seconds; nothing else decides health (a cold cache or an empty queue is healthy).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from kombu import Connection

from performance.backlog import Backlog, backlogs_read, degraded

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    milliseconds: float
    error: str = ""


def check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # The check runs in a throwaway thread: never leave its connection open.
        connection.close()


def check_cache() -> None:
    backend: Any = caches["default"]
    if hasattr(backend, "client"):
        if not backend.client.get_client(write=True).ping():
            raise ConnectionError("no PONG")
    else:
        backend.get("smsgw:health")


def check_broker() -> None:
    url = str(settings.CELERY_BROKER_URL)
    timeout = float(settings.PERFORMANCE_HEALTH_TIMEOUT)
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return
    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def _run(name: str, fn: Callable[[], None], results: dict[str, CheckResult]) -> None:
    started = time.perf_counter()
    try:
        fn()
        results[name] = CheckResult(name, True, (time.perf_counter() - started) * 1000)
    except Exception as exc:
        # The endpoint is public: it names the exception class only; the log has the details
        # (hosts, ports) an outsider should not read.
        logger.warning("health check %s failed: %s", name, exc)
        results[name] = CheckResult(name, False, (time.perf_counter() - started) * 1000, type(exc).__name__)


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


def _read_backlogs(out: list[Backlog]) -> None:
    try:
        out.extend(backlogs_read())
    finally:
        connections.close_all()


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
    """Run every check, and read the backlogs, in parallel; a check that has not answered by the
    deadline fails as a timeout (backlogs not read in time are left out)."""
    timeout = float(settings.PERFORMANCE_HEALTH_TIMEOUT)
    results: dict[str, CheckResult] = {}
    found: list[Backlog] = []
    threads = [
        threading.Thread(target=_run, args=(name, fn, results), name=f"health-{name}", daemon=True)
        for name, fn in CHECKS.items()
    ]
    threads.append(threading.Thread(target=_read_backlogs, args=(found,), name="health-backlog", daemon=True))
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    checks = [results.get(name) or CheckResult(name, False, timeout * 1000, "timeout") for name in CHECKS]
    return Health(checks=checks, degraded=degraded(list(found)) if not threads[-1].is_alive() else [])
