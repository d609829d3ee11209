"""Containers: web, relay and worker each with a multiprocess directory of their own (nothing
shared, so equal PIDs in two containers cannot collide); the worker and the relay serve their own
/metrics on SMS_WORKER_METRICS_PORT, behind the same token as the web's."""

from __future__ import annotations

import re
import time

import pytest
import requests

from devkit.payloads import load_payload, with_new_sid
from sms.tests.factories import phone_number_create
from tests.live import Gunicorn, free_port
from tests.worker import CeleryWorker, RelayProcess

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

TOKEN = "container-scrape-token"


def _sample(text: str, pattern: str) -> float:
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


PROCESSED = r'^smsgw_processing_outcomes_total\{kind="sms",outcome="processed"\} ([0-9.e+]+)$'
DISPATCHED = r"^smsgw_relay_dispatched_total ([0-9.e+]+)$"


def test_worker_and_relay_serve_their_own_metrics_from_their_own_directories() -> None:
    phone_number_create(number="+14155550100", verified=True)
    worker_port, relay_port = free_port(), free_port()
    common = {
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "METRICS_BEARER_TOKEN": TOKEN,
    }
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # Each process gets a fresh directory of its own (tests/live.py, tests/worker.py), as each
    # container would.
    with (
        CeleryWorker(env={**common, "SMS_WORKER_METRICS_PORT": str(worker_port)}) as worker,
        RelayProcess(env={**common, "SMS_WORKER_METRICS_PORT": str(relay_port)}) as relay,
        Gunicorn(workers=1, **common) as web,  # type: ignore[arg-type]  # only str settings
    ):
        assert (
            len({worker.env["PROMETHEUS_MULTIPROC_DIR"], relay.env["PROMETHEUS_MULTIPROC_DIR"], web.metrics_dir}) == 3
        )
        worker_metrics = f"http://127.0.0.1:{worker_port}/metrics"
        relay_metrics = f"http://127.0.0.1:{relay_port}/metrics"
        deadline = time.monotonic() + 30
        while True:
            try:
                unauthorised = requests.get(worker_metrics, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, worker.output()[-3000:]
                time.sleep(0.2)
        assert unauthorised.status_code == 401 and unauthorised.headers["WWW-Authenticate"].startswith("Bearer")

        for _ in range(2):
            assert (
                web.post_webhook(with_new_sid(load_payload("inbound_sms__plain"))).headers["X-SMS-Outcome"]
                == "accepted"
            )
        deadline = time.monotonic() + 60
        while _sample(requests.get(worker_metrics, headers=auth, timeout=5).text, PROCESSED) < 2:
            assert time.monotonic() < deadline, worker.output()[-3000:]
            time.sleep(0.3)
        assert _sample(requests.get(relay_metrics, headers=auth, timeout=5).text, DISPATCHED) >= 2
        # The web's /metrics counts only its own container's processes now.
        web_text = requests.get(web.url + "/metrics", headers=auth, timeout=5).text
        assert _sample(web_text, PROCESSED) == 0
        assert requests.get(f"http://127.0.0.1:{worker_port}/other", headers=auth, timeout=5).status_code == 404
