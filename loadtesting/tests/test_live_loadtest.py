"""The acceptance run: gunicorn + a Celery worker on PostgreSQL and Redis, ``loadtest`` for
~10 s with a few users and the media server; every accepted message must be processed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from devkit.fakes.speech import FakeSpeech
from tests.live import Gunicorn, free_port
from tests.worker import CeleryWorker, RelayProcess

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _loadtest(web: Gunicorn, report_path: Path, *, users: int, senders: int, **options: Any) -> dict[str, Any]:
    """``loadtest`` against ``web``'s webhook, ``users`` spawned at once, ``senders`` numbers all set
    up as verified senders; its JSON report."""
    call_command(
        "loadtest",
        url=web.url + "/api/sms/webhook",
        users=users,
        spawn_rate=users,
        senders=senders,
        setup_senders=senders,
        json_path=str(report_path),
        **options,
    )
    return json.loads(report_path.read_text())


def test_loadtest_against_gunicorn_and_celery_processes_every_accepted_message(tmp_path):
    media_port = free_port()
    speech = FakeSpeech().start()
    env = {
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{media_port}",
        "SMS_MEDIA_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SMS_MEDIA_ALLOW_PRIVATE_IPS": "true",
        "SPEECH_API_ENDPOINT": speech.url,
    }
    web = Gunicorn(workers=2, **env)  # type: ignore[arg-type]  # env holds only str settings
    worker = CeleryWorker(concurrency=2, env=env)
    relay = RelayProcess(env=env)
    report_path = tmp_path / "report.json"
    try:
        web.start()
        worker.start()
        relay.start()
        report = _loadtest(
            web,
            report_path,
            users=4,
            senders=40,
            duration=10,
            rate=1,
            media_server=True,
            media_port=media_port,
            drain=120,
            min_success_rate=100,
            max_unprocessed=0,
        )
    finally:
        relay.stop()
        worker.stop()
        web.stop()
        speech.stop()
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


def test_default_traffic_without_media_server_is_text_only_and_every_message_is_processed(tmp_path, capsys):
    env = {"CELERY_TASK_ALWAYS_EAGER": "false", "TWILIO_API_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    report_path = tmp_path / "report.json"
    with (
        Gunicorn(workers=1, **env) as web,  # type: ignore[arg-type]  # env holds only str settings
        CeleryWorker(concurrency=2, env=env),
        RelayProcess(env=env),
    ):
        # Default traffic options (no --mms-ratio, no --media-server): it must pass on its own.
        report = _loadtest(web, report_path, users=2, senders=20, duration=4, rate=2, drain=60, progress_interval=1)
    assert "mms" not in report["requests_by_kind"]
    e2e = report["end_to_end"]
    assert e2e["accepted"] > 0 and e2e["processed"] == e2e["accepted"] and e2e["failed"] == 0
    assert report["targets"]["unprocessed"]["passed"] is True
    err = capsys.readouterr().err
    assert "sending text messages only" in err and "req/s" in err
