"""The performance API under gunicorn with 2 workers reports every worker, not the one that
happened to answer."""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from tests.live import Gunicorn

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

API = "/api/sms/performance/"


def _served_pids(metrics_dir: str) -> set[str]:
    return {m.group(1) for f in os.listdir(metrics_dir) if (m := re.search(r"_(\d+)\.db$", f))}


def test_api_numbers_are_summed_over_gunicorn_workers() -> None:
    staff = User.objects.create_user("ops", password="pw-123456", is_staff=True)
    headers = {"Authorization": f"Token {Token.objects.create(user=staff).key}"}
    with Gunicorn(workers=2, PERFORMANCE_SNAPSHOT_INTERVAL="1") as server:
        n = 40
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(
                pool.map(lambda i: requests.get(f"{server.url}/no-such-page-{i}", timeout=10).status_code, range(n))
            )
        assert statuses == [404] * n
        served = _served_pids(server.metrics_dir)
        assert len(served) >= 2, f"expected both workers to serve requests, saw pids {served}"

        # Every 404 counted, whichever worker served it and whichever answers this call.
        for _ in range(4):
            stats = requests.get(server.url + API + "stats/", headers=headers, timeout=10).json()
            assert stats["http_responses"]["404"] == n

        # Each worker publishes its pools; any worker shows both, with totals.
        deadline = time.monotonic() + 15
        while True:
            data = requests.get(server.url + API + "connections/", headers=headers, timeout=10).json()
            workers = {p["pid"]: p for p in data["processes"] if p["role"] == "gunicorn"}
            if {int(pid) for pid in served} <= set(workers) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert {int(pid) for pid in served} <= set(workers), data
        redis_sizes = [p["pools"]["redis"]["size"] for p in workers.values()]
        assert data["totals"]["redis"]["size"] == sum(redis_sizes)
        assert data["totals"]["redis"]["processes"] == len(workers)
        assert data["totals"]["postgresql"]["processes"] == len(workers)

        health = requests.get(server.url + API + "health/", timeout=10)
        assert health.status_code == 200, health.text
