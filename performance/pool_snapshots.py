"""Per-process pool snapshots shared through Redis, so any process can show every process.

Each process (gunicorn worker, Celery worker) publishes ``{pid, host, role, started_at,
pools}`` under its own key with a short TTL, from a daemon thread every
``PERFORMANCE_SNAPSHOT_INTERVAL`` seconds, never from a request. A process that dies simply
stops refreshing its key and drops out after the TTL. The same thread sets the
``smsgw_pool_connections`` gauges (livesum) for Prometheus.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import sys
import threading
import time
from typing import Any

from django.conf import settings

from performance import metrics
from performance.caches import redis_client
from performance.pools import pool_stats

logger = logging.getLogger(__name__)

KEY_PREFIX = "smsgw:perf:proc:"
STATES = ("size", "in_use", "idle", "waiting", "max")
PROCESS_STARTED_AT = time.time()

_publisher_lock = threading.Lock()
_publisher_pid: int | None = None


def process_role() -> str:
    argv = " ".join(sys.argv[:3]).lower()
    if "gunicorn" in argv:
        return "gunicorn"
    if "celery" in argv:
        return "celery"
    if "pytest" in argv:
        return "test"
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"


def process_key() -> str:
    return f"{KEY_PREFIX}{socket.gethostname()}:{os.getpid()}"


def local_snapshot() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "role": process_role(),
        "started_at": PROCESS_STARTED_AT,
        "published_at": time.time(),
        "pools": pool_stats(),
    }


def snapshot_ttl() -> int:
    return max(int(settings.PERFORMANCE_SNAPSHOT_INTERVAL) * 3, 10)


def _gauged_snapshot() -> dict[str, Any]:
    snapshot = local_snapshot()
    for pool, stats in snapshot["pools"].items():
        for state in STATES:
            if state in stats:
                metrics.POOL_CONNECTIONS.labels(pool, state).set(stats[state])
    return snapshot


def publish_snapshot() -> dict[str, Any]:
    """Publish this process's snapshot (and its pool gauges); returns it."""
    snapshot = _gauged_snapshot()
    client = redis_client()
    if client is not None:
        client.set(process_key(), json.dumps(snapshot), ex=snapshot_ttl())
    return snapshot


def all_snapshots() -> list[dict[str, Any]]:
    """Snapshots of every live process (this one freshly taken), oldest process first.

    Raises the Redis error when the others cannot be read; ``local_snapshot()`` still works.
    """
    own = _gauged_snapshot()
    client = redis_client()
    if client is None:
        return [own]
    client.set(process_key(), json.dumps(own), ex=snapshot_ttl())
    keys = sorted(client.scan_iter(match=KEY_PREFIX + "*", count=500))
    snapshots: dict[tuple[str, int], dict[str, Any]] = {}
    for raw in client.mget(keys) if keys else []:
        if raw is None:  # expired between SCAN and MGET
            continue
        snap = json.loads(raw)
        snapshots[(snap["host"], snap["pid"])] = snap
    snapshots[(own["host"], own["pid"])] = own
    return sorted(snapshots.values(), key=lambda s: (s["started_at"], s["pid"]))


def pool_totals(snapshots: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per pool, each state summed over the processes that report it."""
    totals: dict[str, dict[str, int]] = {}
    for snap in snapshots:
        for pool, stats in snap["pools"].items():
            if "error" in stats:
                continue
            entry = totals.setdefault(pool, {state: 0 for state in STATES} | {"processes": 0})
            for state in STATES:
                entry[state] += int(stats.get(state, 0))
            entry["processes"] += 1
    return dict(sorted(totals.items()))


def unpublish_snapshot() -> None:
    """Drop this process's snapshot at a clean exit (a killed process expires with the TTL)."""
    try:
        client = redis_client()
        if client is not None:
            client.delete(process_key())
    except Exception:
        logger.debug("pool snapshot unpublish failed", exc_info=True)


def _publish_forever(interval: float) -> None:
    from performance.metric_totals import baseline_get, throughput_record

    while True:
        try:
            publish_snapshot()
            # One process per interval (a Redis lock decides) stores a throughput sample, so
            # the 1- and 5-minute rates have history even when nobody reads the stats.
            throughput_record(min_interval=interval)
            # A reset made on another host reaches this one within an interval.
            baseline_get()
        except Exception:
            logger.warning("pool snapshot publish failed", exc_info=True)
        time.sleep(interval)


def ensure_publisher() -> bool:
    """Start this process's publisher thread once (again after a fork). False when disabled."""
    global _publisher_pid
    interval = float(settings.PERFORMANCE_SNAPSHOT_INTERVAL)
    if interval <= 0:
        return False
    with _publisher_lock:
        if _publisher_pid == os.getpid():
            return True
        _publisher_pid = os.getpid()
        thread = threading.Thread(target=_publish_forever, args=(interval,), name="perf-snapshots", daemon=True)
        thread.start()
        atexit.register(unpublish_snapshot)
    return True
