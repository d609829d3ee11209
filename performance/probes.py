"""Liveness and readiness for load balancers and container healthchecks, and the probe threads
the health document shares with them.

- ``GET /healthz``: liveness. 200 whenever the process can answer; it touches no dependency,
  so a database or Redis outage never gets a healthy process restarted.
- ``GET /readyz``: readiness. 200 while the webhook can accept a message: PostgreSQL answers,
  or, failing that, the Redis that holds the intake spool (sms/spool.py) does, since the
  webhook then spools. 503 only when neither answers. Redis is asked only when PostgreSQL
  does not, so an answer usually costs one ``SELECT 1``.

Both are answered by ``ProbeMiddleware``, first in ``MIDDLEWARE``: before CommonMiddleware's
host check, so a healthcheck calling ``http://127.0.0.1:8000/healthz`` is answered even when
``DJANGO_ALLOWED_HOSTS`` lists only the public name, and before SecurityMiddleware, so it is
never redirected to https. The bodies say nothing but the state.

A check runs on a long-lived thread of its own per dependency (``Prober``) and the caller waits
at most ``PERFORMANCE_HEALTH_TIMEOUT``: a hung server costs the probe its timeout, not a worker.
The thread keeps its database connection between runs, like a request thread under
``CONN_MAX_AGE`` (or hands it back to the pool), so probing opens no connection per call;
callers that arrive while a check is running share its result.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from performance.caches import redis_client

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"


class _DaemonThread:
    """A single worker thread for submitted calls. A daemon, unlike ThreadPoolExecutor's: a
    check hung on a dead server must not hold up the process's exit."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((future, fn))
        return future

    def _loop(self) -> None:
        while True:
            future, fn = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)


class Prober:
    """One thread that runs one dependency's checks, one at a time, and keeps its connections."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._pid = 0
        self._executor: _DaemonThread | None = None
        self._inflight: dict[Callable[[], Any], Future[Any]] = {}

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        """``fn`` run on this prober's thread, or the run of ``fn`` already under way."""
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                # First use in this process (a forked worker does not inherit the thread).
                self._executor = _DaemonThread(f"probe-{self.name}")
                self._pid = os.getpid()
                self._inflight = {}
            future = self._inflight.get(fn)
            if future is None or future.done():
                future = self._executor.submit(fn)
                self._inflight[fn] = future
            return future

    def connections_close(self) -> None:
        """Close the thread's database connections (tests, which change where they point)."""
        if self._executor is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                self._executor.submit(connections.close_all).result(timeout=5)


PROBERS: dict[str, Prober] = {name: Prober(name) for name in ("database", "cache", "broker")}


def probers_connections_close() -> None:
    for prober in PROBERS.values():
        prober.connections_close()


def database_select_one() -> None:
    """``SELECT 1`` on the calling thread's connection (a prober's), kept for the next run."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # A broken connection is replaced on the next run.
        with contextlib.suppress(Exception):
            connection.close()
        raise
    # What the end of a request does: past CONN_MAX_AGE (or with a pool) it is closed/returned.
    connection.close_if_unusable_or_obsolete()


def redis_ping() -> None:
    """PING the cache's Redis through its pool (where the webhook spools). Without Redis (the
    embedded default) there is no spool, and this fails."""
    client = redis_client()
    if client is None:
        raise ConnectionError("no Redis configured")
    if not client.ping():
        raise ConnectionError("no PONG")


def probe(name: str, fn: Callable[[], None]) -> bool:
    """Whether ``fn`` passed on the ``name`` prober within PERFORMANCE_HEALTH_TIMEOUT."""
    try:
        PROBERS[name].submit(fn).result(timeout=float(settings.PERFORMANCE_HEALTH_TIMEOUT))
    except Exception:
        return False
    return True


def is_ready() -> bool:
    """Whether the webhook can accept a message now: PostgreSQL, or else the spool's Redis."""
    return probe("database", database_select_one) or probe("cache", redis_ping)


def _plain(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


class ProbeMiddleware:
    """Answers ``GET``/``HEAD`` ``/healthz`` and ``/readyz`` before any other middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path not in (LIVENESS_PATH, READINESS_PATH):
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = _plain(405, "method not allowed")
            response["Allow"] = "GET, HEAD"
            return response
        if path == LIVENESS_PATH:
            return _plain(200, "ok")
        return _plain(200, "ready") if is_ready() else _plain(503, "not ready")
