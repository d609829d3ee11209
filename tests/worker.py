"""A real Celery worker process for live tests, on the test database and the test Redis DB.

Tests that use it must commit their data (``@pytest.mark.django_db(transaction=True)``) and
enqueue for real (``celery_not_eager``).
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from typing import Self

from tests.live import ServerProcess, server_env


class CeleryWorker(ServerProcess):
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
        proc = self._spawn(
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.output()}")
            if " ready." in self.output():
                return self
            time.sleep(0.1)
        self.stop()  # never leave a half-started worker consuming the queue
        raise RuntimeError(f"celery worker not ready in {timeout}s:\n{self.output()}")


class RelayProcess(ServerProcess):
    """``manage.py sms_relay`` on the test database and Redis DB: hands stored messages to the
    broker (with ``CELERY_TASK_ALWAYS_EAGER=true`` it processes them itself), sweeps, drains the
    spool."""

    log_prefix = "smsgw-relay-"

    def __init__(self, *, env: dict[str, str] | None = None) -> None:
        super().__init__()
        defaults = {
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="smsgw-test-relay-metrics-"),
        }
        self.env = server_env(**{**defaults, **(env or {})})

    def start(self, timeout: float = 60.0) -> Self:
        proc = self._spawn([sys.executable, "manage.py", "sms_relay"], self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"relay exited early:\n{self.output()}")
            if "relay started" in self.output():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"relay not ready in {timeout}s:\n{self.output()}")
