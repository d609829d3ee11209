"""A real Celery worker process for live tests, on the test database and the test Redis DB.

Tests that use it must commit their data (``@pytest.mark.django_db(transaction=True)``) and
enqueue for real (``celery_not_eager``).
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from typing import Self

from tests.live import ServerProcess, server_env


class CeleryWorker(ServerProcess):
    kind = "celery worker"
    log_prefix = "smsgw-celery-"

    def __init__(
        self, *, concurrency: int = 1, pool: str = "prefork", env: dict[str, str] | None = None, loglevel: str = "info"
    ) -> None:
        super().__init__()
        self.loglevel = loglevel
        self.name = f"test-{uuid.uuid4().hex[:8]}@127.0.0.1"
        self.concurrency = concurrency
        self.pool = pool
        # Its own metrics directory unless the test shares one with a Gunicorn (env).
        defaults = {
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="smsgw-test-worker-metrics-"),
        }
        self.env = server_env(**{**defaults, **(env or {})})

    def start(self, timeout: float = 60.0) -> Self:
        self._spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smsgateway",
                "worker",
                "-l",
                self.loglevel,
                "-Q",
                "sms",
                "-c",
                str(self.concurrency),
                "-P",
                self.pool,
                "-n",
                self.name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            self.env,
        )
        # Never leave a half-started worker consuming the queue: it is stopped if not ready.
        return self._wait_until_ready(lambda: " ready." in self.output(), timeout)


class RelayProcess(ServerProcess):
    """``manage.py sms_relay`` on the test database and Redis DB: hands stored messages to the
    broker (with ``CELERY_TASK_ALWAYS_EAGER=true`` it processes them itself), sweeps, drains the
    spool."""

    kind = "relay"
    log_prefix = "smsgw-relay-"

    def __init__(self, *, env: dict[str, str] | None = None) -> None:
        super().__init__()
        defaults = {
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="smsgw-test-relay-metrics-"),
        }
        self.env = server_env(**{**defaults, **(env or {})})

    def start(self, timeout: float = 60.0) -> Self:
        self._spawn([sys.executable, "manage.py", "sms_relay"], self.env)
        return self._wait_until_ready(lambda: "relay started" in self.output(), timeout)
