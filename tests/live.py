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
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Self

import requests
from django.conf import settings
from django.db import connection

from devkit.lifecycle import Startable
from devkit.payloads import twilio_signature
from performance.multiprocess import DEFAULT_DIR

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_python(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python *args`` (``manage.py …``, ``-c …``) in the project root with exactly ``env``, its
    output captured as text."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


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


class ServerProcess(Startable):
    """A server subprocess of a live test: its log, ``output()``, ``stop()``/``kill()`` and use as a
    context manager. It runs in its own process group, so stopping reaches its children too."""

    kind = "server"  # what error messages call it
    log_prefix = "smsgw-server-"

    def __init__(self) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix=self.log_prefix, suffix=".log", delete=False)
        self.proc: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def start(self, timeout: float = 30.0) -> Self:
        """Spawn (with ``_spawn``) and return once the server is ready; stop it and raise if not."""

    def _spawn(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self.proc

    def _wait_until_ready(self, is_ready: Callable[[], bool], timeout: float) -> Self:
        """Poll ``is_ready`` until it holds; raise if the server exits first or is not ready in
        ``timeout`` seconds (stopping it: ``__exit__`` does not run when ``__enter__`` raises)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early:\n{self.output()}")
            if is_ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the server and its children at once (a crashed machine, an OOM kill)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class Gunicorn(ServerProcess):
    """gunicorn with the project's gunicorn.conf.py on a free loopback port."""

    kind = "gunicorn"
    log_prefix = "smsgw-gunicorn-"

    def __init__(self, workers: int = 2, threads: int = 1, **env: str) -> None:
        super().__init__()
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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post_webhook(self, params: dict[str, str], *, session: requests.Session | None = None) -> requests.Response:
        """POST ``params`` to the webhook as Twilio does, signed with the test token."""
        url = self.url + "/api/sms/webhook"
        headers = {"X-Twilio-Signature": twilio_signature(url, params, settings.TWILIO_AUTH_TOKEN)}
        return (session or requests).post(url, data=params, headers=headers, timeout=30)

    def start(self, timeout: float = 30.0) -> Self:
        self._spawn(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "smsgateway.wsgi:application"],
            self.env,
        )
        return self._wait_until_ready(self._answers, timeout)

    def _answers(self) -> bool:
        try:
            requests.get(self.url + "/metrics", timeout=2)
        except (requests.ConnectionError, requests.Timeout):
            return False  # a worker's first request imports Django: slow on a busy machine, not dead
        return True
