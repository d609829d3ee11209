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


def health_check() -> list[CheckResult]:
    """Run every check in parallel; one that has not answered by the deadline fails as a timeout."""
    timeout = float(settings.PERFORMANCE_HEALTH_TIMEOUT)
    results: dict[str, CheckResult] = {}
    threads = {
        name: threading.Thread(target=_run, args=(name, fn, results), name=f"health-{name}", daemon=True)
        for name, fn in CHECKS.items()
    }
    deadline = time.monotonic() + timeout
    for thread in threads.values():
        thread.start()
    for thread in threads.values():
        thread.join(max(deadline - time.monotonic(), 0))
    return [results.get(name) or CheckResult(name, False, timeout * 1000, "timeout") for name in CHECKS]
