"""/metrics under gunicorn with 2 workers reports counts summed over both workers."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.live import Gunicorn

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _metric(text: str, name: str, labels: str) -> float:
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_are_summed_over_gunicorn_workers() -> None:
    with Gunicorn(workers=2) as server:
        url = server.url + "/admin/login/"
        n = 60
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: requests.get(url, timeout=10).status_code, range(n)))
        assert statuses == [200] * n
        pids = {re.search(r"_(\d+)\.db$", f).group(1) for f in os.listdir(server.metrics_dir) if f.endswith(".db")}  # type: ignore[union-attr]
        assert len(pids) >= 2, f"expected both workers to serve requests, saw pids {pids}"
        text = requests.get(server.url + "/metrics", timeout=10).text
        served = _metric(text, "django_http_responses_total_by_status_total", 'status="200"')
        # n requests plus possibly this /metrics call itself.
        assert served >= n
