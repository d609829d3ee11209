"""Real server processes for live tests: gunicorn (and later Celery) on 127.0.0.1.

The processes use the test database that pytest-django created, so tests that use them
must commit their data (``@pytest.mark.django_db(transaction=True)``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import requests
from django.conf import settings
from django.db import connection

from performance.multiprocess import DEFAULT_DIR

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_database_url() -> str:
    """URL of the database the tests run on (pytest-django's test_<name>)."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "smsgateway.settings.test",
            "DATABASE_URL": live_database_url(),
            "REDIS_URL": str(settings.CACHES["default"]["LOCATION"]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Gunicorn:
    """gunicorn with the project's gunicorn.conf.py on a free loopback port."""

    def __init__(self, workers: int = 2, threads: int = 1, **env: str) -> None:
        self.port = free_port()
        # Its own metrics directory unless the test names one ("" = unset: the host default).
        requested = env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        configured = tempfile.mkdtemp(prefix="smsgw-test-metrics-") if requested is None else requested
        self.metrics_dir: str = configured or DEFAULT_DIR
        self.env = server_env(
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            GUNICORN_WORKERS=str(workers),
            GUNICORN_THREADS=str(threads),
            PROMETHEUS_MULTIPROC_DIR=configured,
            **env,
        )
        self.log = tempfile.NamedTemporaryFile(prefix="smsgw-gunicorn-", suffix=".log", delete=False)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Gunicorn:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "smsgateway.wsgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.output()}")
            try:
                requests.get(self.url + "/metrics", timeout=2)
                return self
            except (requests.ConnectionError, requests.Timeout):
                # A worker's first request imports Django: slow on a busy machine, not dead.
                time.sleep(0.1)
        self.stop()  # __exit__ does not run when __enter__ raises: never leak the server
        raise RuntimeError(f"gunicorn did not answer in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
