"""Per-process pool snapshots in Redis: published with a TTL, read back for every process."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from django_redis import get_redis_connection

from performance import metrics
from performance.pool_snapshots import KEY_PREFIX, all_snapshots, pool_totals, process_key, publish_snapshot
from performance.pools import register_pool, unregister_pool

pytestmark = pytest.mark.django_db


def test_publish_stores_own_snapshot_with_short_ttl_and_sets_gauges(settings) -> None:
    settings.PERFORMANCE_SNAPSHOT_INTERVAL = 5
    register_pool("snap_pool", lambda: {"size": 2, "in_use": 1, "idle": 1, "waiting": 0, "max": 7})
    try:
        publish_snapshot()
    finally:
        unregister_pool("snap_pool")
    client = get_redis_connection()
    stored = json.loads(client.get(process_key()))
    assert stored["pid"] == os.getpid()
    assert stored["pools"]["snap_pool"]["max"] == 7
    assert 0 < client.ttl(process_key()) <= 15
    assert metrics.sample_total("smsgw_pool_connections", {"pool": "snap_pool", "state": "max"}) == 7


def test_expired_process_drops_out() -> None:
    client = get_redis_connection()
    gone = {"host": "h", "pid": 1, "role": "gunicorn", "started_at": 0, "published_at": 0, "pools": {}}
    client.set(KEY_PREFIX + "h:1", json.dumps(gone), px=1)
    deadline = time.monotonic() + 5
    while client.exists(KEY_PREFIX + "h:1") and time.monotonic() < deadline:  # Redis expires it
        time.sleep(0.001)
    assert all((s["host"], s["pid"]) != ("h", 1) for s in all_snapshots())


def test_totals_skip_pools_that_report_errors() -> None:
    snaps: list[dict[str, Any]] = [
        {"pools": {"speech": {"size": 1, "in_use": 0, "idle": 1, "waiting": 0, "max": 4}}},
        {"pools": {"speech": {"error": "TimeoutError"}}},
        {"pools": {"speech": {"size": 2, "in_use": 2, "idle": 0, "waiting": 3, "max": 4}}},
    ]
    assert pool_totals(snaps) == {"speech": {"size": 3, "in_use": 2, "idle": 1, "waiting": 3, "max": 8, "processes": 2}}
