"""Processing done by a Celery worker shows in the web server's /metrics and performance API:
with no configuration, both write to the host's shared Prometheus multiprocess directory, and
starting gunicorn keeps a running worker's files."""

from __future__ import annotations

import os
import re
import time

import pytest
import requests
from django.contrib.auth.models import User

from devkit.payloads import load_payload, with_new_sid
from performance.multiprocess import dead_process_files_remove
from sms.tests.factories import phone_number_create
from smsgateway.tokens import api_token_create
from tests.live import Gunicorn, free_port
from tests.worker import CeleryWorker, RelayProcess

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _processed(text: str) -> float:
    match = re.search(r'^smsgw_processing_outcomes_total\{kind="sms",outcome="processed"\} ([0-9.e+]+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_worker_processing_is_counted_by_the_web_servers_metrics() -> None:
    admin = User.objects.create_superuser("ops", "ops@example.com", "pw-123456")
    token = api_token_create(user=admin)
    phone_number_create(number="+14155550100", verified=True)
    env = {
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "PROMETHEUS_MULTIPROC_DIR": "",  # unset: each process falls back to the host default
    }
    # The worker starts first: gunicorn's start must not remove its files.
    with (
        CeleryWorker(env=env),
        RelayProcess(env=env),
        Gunicorn(workers=2, **env) as web,  # type: ignore[arg-type]  # only str settings
    ):
        before = _processed(requests.get(web.url + "/metrics", timeout=10).text)
        token_headers = {"Authorization": f"Token {token}"}
        requests.post(web.url + "/api/sms/performance/reset/", headers=token_headers, timeout=10).raise_for_status()
        for _ in range(3):
            assert (
                web.post_webhook(with_new_sid(load_payload("inbound_sms__plain"))).headers["X-SMS-Outcome"]
                == "accepted"
            )
        deadline = time.monotonic() + 60
        while _processed(requests.get(web.url + "/metrics", timeout=10).text) < before + 3:
            assert time.monotonic() < deadline, "worker's processing never showed in the web's /metrics"
            time.sleep(0.2)
        stats = requests.get(web.url + "/api/sms/performance/stats/", headers=token_headers, timeout=10).json()
    assert stats["processing"]["outcomes"]["processed"] == 3


def test_restart_prunes_only_files_of_exited_processes(tmp_path) -> None:
    alive = tmp_path / f"counter_{os.getpid()}.db"
    gone = tmp_path / "counter_999999999.db"
    alive.write_bytes(b"x")
    gone.write_bytes(b"x")
    assert dead_process_files_remove(str(tmp_path)) == 1
    assert alive.exists() and not gone.exists()
