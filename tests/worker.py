"""A real Celery worker process for live tests, on the test database and the test Redis DB.

Tests that use it must commit their data (``@pytest.mark.django_db(transaction=True)``) and
enqueue for real (``celery_not_eager``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

from tests.live import ROOT, server_env


class CeleryWorker:
    def __init__(
        self, *, concurrency: int = 1, pool: str = "prefork", env: dict[str, str] | None = None, loglevel: str = "info"
    ) -> None:
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
        self.log = tempfile.NamedTemporaryFile(prefix="smsgw-celery-", suffix=".log", delete=False)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> CeleryWorker:
        self.proc = subprocess.Popen(
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
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes the pool children too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.output()}")
            if " ready." in self.output():
                return self
            time.sleep(0.1)
        self.stop()  # never leave a half-started worker consuming the queue
        raise RuntimeError(f"celery worker not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once (a crashed machine, an OOM kill)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> CeleryWorker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
