"""What the load test samples from the system under test while it runs.

- Cache hit rate: the named caches' hit/miss counters scraped from the target's ``/metrics``
  before and after the run. That endpoint sums every gunicorn worker (multiprocess mode), so
  the delta is the hit rate of exactly this run's traffic across the whole server.
- Database connections: ``pg_stat_activity`` polled on a thread, peak of the client
  connections to the target database (web workers, Celery workers, anything else), not
  counting the load tester's own connections.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import requests
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from performance import metrics

logger = logging.getLogger(__name__)

CacheCounters = dict[str, dict[str, float]]

# Caches whose entry is a flag whose absence is the normal answer: rate_limit_status holds
# "over the limit until …" only for senders over the limit, so almost every lookup is a miss by
# design. They are reported per cache but left out of the headline hit rate, which measures
# whether lookups of data (sender, verification status) are served from the cache.
FLAG_CACHES = frozenset({"rate_limit_status"})


def parse_cache_counters(text: str) -> CacheCounters:
    """``{cache: {"hits": n, "misses": n}}`` from a Prometheus text exposition."""
    counters: CacheCounters = {}
    wanted = {metrics.sample_name(metrics.CACHE_HITS): "hits", metrics.sample_name(metrics.CACHE_MISSES): "misses"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            field = wanted.get(sample.name)
            if field is None:
                continue
            cache = sample.labels.get("cache", "")
            entry = counters.setdefault(cache, {"hits": 0.0, "misses": 0.0})
            entry[field] += sample.value
    return counters


def scrape_cache_counters(metrics_url: str, timeout: float = 5.0) -> CacheCounters | None:
    """The target's cache counters, or None when its /metrics cannot be read."""
    try:
        response = requests.get(metrics_url, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        logger.warning("loadtest: cannot read %s (%s); cache hit rate not measured", metrics_url, exc)
        return None
    return parse_cache_counters(response.text)


def cache_stats_delta(before: CacheCounters | None, after: CacheCounters | None) -> dict[str, Any] | None:
    """Hit rate (percent) of the lookups made between two scrapes: headline (data caches) and per cache."""
    if before is None or after is None:
        return None
    by_cache: dict[str, dict[str, Any]] = {}
    total_hits = total_misses = 0.0
    for name, now in sorted(after.items()):
        then = before.get(name, {"hits": 0.0, "misses": 0.0})
        hits, misses = now["hits"] - then["hits"], now["misses"] - then["misses"]
        lookups = hits + misses
        if lookups <= 0:
            continue
        by_cache[name] = {"hits": int(hits), "misses": int(misses), "hit_rate": round(100 * hits / lookups, 3)}
        if name in FLAG_CACHES:
            continue
        total_hits += hits
        total_misses += misses
    lookups = total_hits + total_misses
    return {
        "hits": int(total_hits),
        "misses": int(total_misses),
        "hit_rate": round(100 * total_hits / lookups, 3) if lookups else None,
        "by_cache": by_cache,
        "excluded": sorted(FLAG_CACHES & by_cache.keys()),
    }


CONNECTIONS_SQL = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database()
      AND backend_type = 'client backend'
      AND pid <> pg_backend_pid()
      AND NOT (pid = ANY(%s))
"""


def own_backend_pids() -> list[int]:
    """Backend pids of this thread's database connection (to leave out of the count)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    return [int(row[0])] if row else []


def count_connections(exclude_pids: Iterable[int] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(CONNECTIONS_SQL, [list(exclude_pids)])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


class ConnectionSampler(threading.Thread):
    """Polls pg_stat_activity every ``interval`` seconds until stopped; keeps the peak."""

    def __init__(self, interval: float = 0.25, exclude_pids: Iterable[int] = ()) -> None:
        super().__init__(name="loadtest-db-sampler", daemon=True)
        self.interval = interval
        self.exclude_pids = list(exclude_pids)
        self.peak: int | None = None
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        if connection.vendor != "postgresql":
            return
        try:
            while True:
                try:
                    current = count_connections(self.exclude_pids)
                except Exception:
                    logger.warning("loadtest: pg_stat_activity sample failed", exc_info=True)
                else:
                    self.samples += 1
                    self.peak = current if self.peak is None else max(self.peak, current)
                if self._stop_event.wait(self.interval):
                    return
        finally:
            connection.close()

    def stop(self) -> int | None:
        self._stop_event.set()
        self.join(timeout=10)
        return self.peak
