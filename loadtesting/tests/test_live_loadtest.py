"""The acceptance run: gunicorn + a Celery worker on PostgreSQL and Redis, ``loadtest`` for
~10 s with a few users and the media server; every accepted message must be processed.

Skipped until the webhook (``/api/sms/webhook``) and the Speech fake exist in the tree.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve

from tests.live import ROOT, Gunicorn, free_port, server_env

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def webhook_exists() -> bool:
    try:
        resolve("/api/sms/webhook")
    except Resolver404:
        return False
    return True


class CeleryWorker:
    """A Celery worker subprocess consuming the ``sms`` queue from the test Redis."""

    def __init__(self, **env: str) -> None:
        self.env = server_env(**env)
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
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--queues",
                "sms",
                "--hostname",
                f"loadtest-{free_port()}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery exited early:\n{self.output()}")
            if " ready." in self.output():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"celery not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_loadtest_against_gunicorn_and_celery_processes_every_accepted_message(tmp_path):
    if not webhook_exists():
        pytest.skip("/api/sms/webhook is not in this tree yet")
    speech_module = pytest.importorskip("tests.fakes.speech", reason="voice notes need the Speech fake")

    media_port = free_port()
    speech = speech_module.FakeSpeech().start()
    env = {
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{media_port}",
        "SMS_MEDIA_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SMS_MEDIA_ALLOW_PRIVATE_IPS": "true",
        "SPEECH_API_ENDPOINT": speech.url,
    }
    web = Gunicorn(workers=2, **env)
    worker = CeleryWorker(**env)
    report_path = tmp_path / "report.json"
    try:
        web.start()
        worker.start()
        call_command(
            "loadtest",
            url=web.url + "/api/sms/webhook",
            users=4,
            spawn_rate=4,
            duration=10,
            rate=1,
            senders=40,
            setup_senders=40,
            media_server=True,
            media_port=media_port,
            drain=120,
            json_path=str(report_path),
            min_success_rate=100,
            max_unprocessed=0,
        )
    finally:
        worker.stop()
        web.stop()
        speech.stop()
    report = json.loads(report_path.read_text())
    assert report["failures"] == 0, (report["failures_by_reason"], web.output()[-3000:])
    assert report["requests"] > 0 and report["outcomes"].get("accepted", 0) > 0
    e2e = report["end_to_end"]
    assert e2e["accepted"] > 0
    assert e2e["processed"] == e2e["accepted"], (e2e, worker.output()[-3000:])
    assert e2e["failed"] == 0 and e2e["pending"] == 0
    # Every accepted reply is one stored message; duplicates and keywords are not.
    assert e2e["accepted"] == report["outcomes"]["accepted"]
    assert report["cache_hit_rate"] is not None
    assert report["db_connections_peak"] is not None
