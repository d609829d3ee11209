"""The performance API under gunicorn with 2 workers reports every worker, not the one that
happened to answer."""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User

from smsgateway.tokens import api_token_create
from tests.live import Gunicorn, free_port

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

API = "/api/sms/performance/"


def _served_pids(metrics_dir: str) -> set[str]:
    return {m.group(1) for f in os.listdir(metrics_dir) if (m := re.search(r"_(\d+)\.db$", f))}


def test_api_numbers_are_summed_over_gunicorn_workers() -> None:
    staff = User.objects.create_user("ops", password="pw-123456", is_staff=True)
    headers = {"Authorization": f"Token {api_token_create(user=staff)}"}
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


@pytest.mark.parametrize(
    ("env", "failing"),
    [
        ({"REDIS_URL": "redis://127.0.0.1:{port}/0"}, ["cache", "broker"]),
        ({"DATABASE_URL": "postgres://postgres@127.0.0.1:{port}/nowhere"}, ["database"]),
    ],
    ids=["redis-down", "postgresql-down"],
)
def test_live_health_is_503_naming_the_dependency_that_is_down(env: dict[str, str], failing: list[str]) -> None:
    closed = str(free_port())
    down: dict[str, Any] = {k: v.format(port=closed) for k, v in env.items()}
    with Gunicorn(workers=1, **down) as server:
        response = requests.get(server.url + API + "health/", timeout=15)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == failing
    assert all(c["error"] for c in body["checks"] if c["name"] in failing)
