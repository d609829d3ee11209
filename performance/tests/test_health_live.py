"""A flood of health requests on a real gunicorn does not take the database connections the
webhook needs: each process answers from its last result (PERFORMANCE_HEALTH_CACHE_SECONDS)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from tests.live import Gunicorn

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _app_backends() -> set[int]:
    """PostgreSQL backend pids of the service's connections now (a new connection = a new pid)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {int(row[0]) for row in cursor.fetchall()}


def test_two_hundred_concurrent_health_calls_use_no_connection_per_call() -> None:
    with Gunicorn(workers=2, threads=4, PERFORMANCE_HEALTH_CACHE_SECONDS="2") as web:
        requests.get(web.url + "/api/sms/performance/health/", timeout=10)
        seen: set[int] = set()
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                seen.update(_app_backends())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(max_workers=200) as pool:
            answers = list(
                pool.map(lambda _: requests.get(web.url + "/api/sms/performance/health/", timeout=30), range(200))
            )
        stop.set()
        sampler.join()
    assert {(r.status_code, r.json()["status"]) for r in answers} == {(200, "ok")}
    # Each check run opens one connection; 200 calls within the TTL make a run or two per
    # process, not one per call (with the cache off this test sees dozens).
    assert len(seen) <= 8, len(seen)
