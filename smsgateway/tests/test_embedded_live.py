"""The first of the two README commands, ``scripts/run.sh``, on the embedded default (SQLite, the
in-process cache, eager tasks, console SMS): a text is accepted, the relay processes it, and
the confirmation is written to the console."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.live import ROOT, free_port, run_python

pytestmark = pytest.mark.live

SENDER = "+14155550100"


def _manage(env: dict[str, str], *args: str) -> str:
    result = run_python("manage.py", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_run_sh_serves_and_processes_a_text_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "TWILIO_", "DJANGO_", "SMS_"))
    }
    # The embedded default with its SQLite file in a temporary directory, not the checkout's var/.
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", BIND=f"127.0.0.1:{port}", PYTHONUNBUFFERED="1")
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        ["scripts/run.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        else:
            raise AssertionError((tmp_path / "run.log").read_text())
        _manage(
            env,
            "shell",
            "--no-imports",
            "-c",
            f"from sms.tests.factories import phone_number_create; phone_number_create(number='{SENDER}')",
        )
        out = _manage(
            env,
            "sms_simulate",
            "--url",
            f"http://127.0.0.1:{port}/api/sms/webhook",
            "--from",
            SENDER,
            "--body",
            "Had lunch with Sarah, she's training for the Boston marathon",
        )
        assert "HTTP 200  outcome: accepted" in out
        sid = out.split("MessageSid: ", 1)[1].split()[0]
        probe = f"from sms.models import InboundMessage as M; print(M.objects.get(message_sid='{sid}').status)"
        deadline = time.monotonic() + 30
        while _manage(env, "shell", "--no-imports", "-c", probe).strip() != "processed":
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while "(console, not sent)" not in (tmp_path / "run.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.2)
        output = (tmp_path / "run.log").read_text()
        assert "relay started (polling)" in output
        assert SENDER not in output and "***0100" in output
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
