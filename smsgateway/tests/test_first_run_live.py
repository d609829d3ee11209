"""The README's first-run walkthrough ("First run: the whole flow, no Twilio account") on the embedded default (no DATABASE_URL / REDIS_URL: SQLite,
the in-process cache, eager tasks, console SMS), with the real ``scripts/run.sh``: create a user,
link a number, read the code in the server's log, verify, text a note with ``sms_simulate``, and
see its items in the API."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.live import ROOT, free_port

pytestmark = pytest.mark.live

NUMBER = "+14155550123"
PASSWORD = "first-run-Pw-4821"


class RunSh:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "run.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "TWILIO_", "DJANGO_", "SMS_", "PROMETHEUS_"))
        }
        # The embedded default, with its SQLite file in a temporary directory, not the checkout's var/.
        env.update(
            DJANGO_SQLITE_PATH=str(tmp_path / "db.sqlite3"),
            BIND=f"127.0.0.1:{self.port}",
            PYTHONUNBUFFERED="1",
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        )
        (tmp_path / "metrics").mkdir()
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self) -> None:
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                ["scripts/run.sh"], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, self.log()
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)

    def manage(self, *args: str, **extra_env: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def wait_for_log(self, pattern: str, timeout: float = 10) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log())
            if match:
                return match
            assert time.monotonic() < deadline, f"no {pattern!r} in the log:\n{self.log()}"
            time.sleep(0.1)


@pytest.fixture
def run_sh(tmp_path: Path) -> Iterator[RunSh]:
    server = RunSh(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_readme_first_run_walkthrough_on_the_embedded_default(run_sh: RunSh) -> None:
    # 1. A user (the README: createsuperuser; non-interactive here).
    run_sh.manage(
        "createsuperuser", "--noinput", "--username", "alice", "--email", "a@example.com",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )  # fmt: skip
    token = requests.post(
        run_sh.url + "/api/auth/token", data={"username": "alice", "password": PASSWORD}, timeout=10
    ).json()["token"]
    auth = {"Authorization": f"Token {token}"}

    # 2. Link a number: answered at once, the code written to the server's log (console SMS).
    started = time.monotonic()
    linked = requests.post(
        run_sh.url + "/api/user/phone-number", json={"phone_number": NUMBER}, headers=auth, timeout=10
    )
    assert linked.status_code == 201, linked.text
    assert time.monotonic() - started < 2
    code = run_sh.wait_for_log(r"\(console, not sent\): Your smsgateway verification code is (\d{6})").group(1)

    # 3. Verify it.
    verified = requests.post(
        run_sh.url + "/api/user/phone-number/verify", json={"code": code}, headers=auth, timeout=10
    )
    assert verified.status_code == 200, verified.text

    # 4. Text a note from that number.
    out = run_sh.manage(
        "sms_simulate", "--url", run_sh.url + "/api/sms/webhook", "--from", NUMBER,
        "--body", "Had lunch with Sarah, she's training for the Boston marathon #running",
    )  # fmt: skip
    assert "HTTP 200  outcome: accepted" in out, out
    run_sh.wait_for_log(r"\(console, not sent\): Saved \d+ ", timeout=30)

    # 5. Its items in the API.
    items = requests.get(run_sh.url + "/api/enrichment-items", headers=auth, timeout=10).json()
    kinds = {item["kind"] for item in items["results"]}
    assert "note" in kinds, items
    log = run_sh.log()
    assert NUMBER not in log and "***0123" in log  # numbers stay masked in the log
