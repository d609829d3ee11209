"""What the performance API and admin page show, assembled from the metric totals.

Counts and percentiles are "since reset": the aggregated totals minus the baseline stored
by the last reset (the whole life of the processes when nobody reset). ``lifetime`` keeps
the raw totals that Prometheus sees.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from performance import metric_totals, metrics, pool_snapshots
from performance.backlog import backlogs_as_dicts
from performance.caches import registered_caches
from performance.database import database_stats
from performance.metric_totals import Totals, by_label, histogram_quantiles, total
from performance.queue import celery_queue_depth

logger = logging.getLogger(__name__)
T = TypeVar("T")

WEBHOOK_QUANTILES = (0.5, 0.95, 0.99)
PROCESSING_QUANTILES = (0.5, 0.95)


def _or_fallback(what: str, fn: Callable[[], T], fallback: T, unavailable: list[str] | None) -> T:
    """``fn()``, or ``fallback`` when Redis/PostgreSQL fail: the page an operator opens during
    an outage must still answer, saying what it could not read."""
    try:
        return fn()
    except Exception:
        logger.warning("performance figures: %s unavailable", what, exc_info=True)
        if unavailable is not None:
            unavailable.append(what)
        return fallback


def _ms(quantiles: dict[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else round(v * 1000, 2) for k, v in quantiles.items()}


def cache_stats_list(delta: Totals | None = None, lifetime: Totals | None = None) -> list[dict[str, Any]]:
    """Every named cache: since-reset hits/misses/sets/errors and hit rate, lifetime counts,
    live entries (counted with SCAN now) and TTL. Caches seen only in other processes' metrics
    are listed too, with the TTL unknown (None)."""
    if lifetime is None:
        lifetime = metric_totals.current_totals()
    if delta is None:
        baseline = _or_fallback(
            "baseline", lambda: metric_totals.baseline_get(lifetime), metric_totals.Baseline(None, {}), None
        )
        delta = metric_totals.since(lifetime, baseline)
    known = registered_caches()
    names = set(known) | set(by_label(lifetime, metrics.sample_name(metrics.CACHE_HITS), "cache"))
    names |= set(by_label(lifetime, metrics.sample_name(metrics.CACHE_MISSES), "cache"))
    result = []
    for name in sorted(names):
        hits = total(delta, metrics.sample_name(metrics.CACHE_HITS), cache=name)
        misses = total(delta, metrics.sample_name(metrics.CACHE_MISSES), cache=name)
        cache = known.get(name)
        result.append(
            {
                "name": name,
                "ttl": cache.ttl if cache else None,
                "hits": int(hits),
                "misses": int(misses),
                "sets": int(total(delta, metrics.sample_name(metrics.CACHE_SETS), cache=name)),
                "errors": int(total(delta, metrics.sample_name(metrics.CACHE_ERRORS), cache=name)),
                "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
                "local_hits": int(total(delta, metrics.sample_name(metrics.CACHE_LOCAL_HITS), cache=name)),
                "live_entries": cache.live_entries() if cache else None,
                "lifetime_hits": int(total(lifetime, metrics.sample_name(metrics.CACHE_HITS), cache=name)),
                "lifetime_misses": int(total(lifetime, metrics.sample_name(metrics.CACHE_MISSES), cache=name)),
            }
        )
    return result


def connection_stats_get(unavailable: list[str] | None = None) -> dict[str, Any]:
    """Every pool of every live process, and per pool the totals over processes (only this
    process when Redis cannot be read)."""
    procs = _or_fallback(
        "other processes", pool_snapshots.all_snapshots, [pool_snapshots.local_snapshot()], unavailable
    )
    return {
        "processes": [
            {
                "host": snap["host"],
                "pid": snap["pid"],
                "role": snap["role"],
                "started_at": snap["started_at"],
                "age_seconds": round(time.time() - snap["published_at"], 1),
                "pools": snap["pools"],
            }
            for snap in procs
        ],
        "totals": pool_snapshots.pool_totals(procs),
    }


def database_stats_get() -> dict[str, Any]:
    return database_stats_get_with(connection_stats_get())


def _processing(delta: Totals) -> dict[str, Any]:
    kinds = sorted(
        set(by_label(delta, metrics.sample_name(metrics.PROCESSING_OUTCOMES), "kind"))
        | set(by_label(delta, metrics.sample_name(metrics.PROCESSING_LATENCY, "_count"), "kind"))
    )
    return {
        "count": int(total(delta, metrics.sample_name(metrics.PROCESSING_OUTCOMES))),
        "latency_ms": _ms(
            histogram_quantiles(delta, metrics.sample_name(metrics.PROCESSING_LATENCY), PROCESSING_QUANTILES)
        ),
        "by_kind": {
            kind: {
                "count": int(total(delta, metrics.sample_name(metrics.PROCESSING_OUTCOMES), kind=kind)),
                "latency_ms": _ms(
                    histogram_quantiles(
                        delta, metrics.sample_name(metrics.PROCESSING_LATENCY), PROCESSING_QUANTILES, kind=kind
                    )
                ),
                "outcomes": by_label(delta, metrics.sample_name(metrics.PROCESSING_OUTCOMES), "outcome", kind=kind),
            }
            for kind in kinds
        },
        "outcomes": by_label(delta, metrics.sample_name(metrics.PROCESSING_OUTCOMES), "outcome"),
    }


def _gemini(delta: Totals) -> dict[str, Any]:
    calls = int(total(delta, metrics.sample_name(metrics.GEMINI_CALLS)))
    cost = total(delta, metrics.sample_name(metrics.GEMINI_COST))
    return {
        "calls": calls,
        "latency_ms": _ms(
            histogram_quantiles(delta, metrics.sample_name(metrics.GEMINI_LATENCY), PROCESSING_QUANTILES)
        ),
        "outcomes": by_label(delta, metrics.sample_name(metrics.GEMINI_CALLS), "outcome"),
        "tokens_in": int(total(delta, metrics.sample_name(metrics.GEMINI_TOKENS), direction="input")),
        "tokens_out": int(total(delta, metrics.sample_name(metrics.GEMINI_TOKENS), direction="output")),
        "cost_usd": round(cost, 4),
        "cost_per_call_usd": round(cost / calls, 6) if calls else None,
    }


def performance_stats_get() -> dict[str, Any]:
    """The whole picture in one document (the ``stats`` endpoint and the admin page)."""
    unavailable: list[str] = []
    lifetime = metric_totals.current_totals()
    baseline = _or_fallback(
        "reset baseline", lambda: metric_totals.baseline_get(lifetime), metric_totals.Baseline(None, {}), unavailable
    )
    delta = metric_totals.since(lifetime, baseline)
    _or_fallback("throughput samples", lambda: metric_totals.throughput_record(lifetime), None, None)
    no_throughput: dict[str, dict[str, float | None]] = {}
    throughput = _or_fallback("throughput", lambda: metric_totals.throughput(lifetime), no_throughput, unavailable)
    connection_stats = connection_stats_get(unavailable)
    database = _or_fallback("database", lambda: database_stats_get_with(connection_stats), _NO_DATABASE, unavailable)
    started = min((p["started_at"] for p in connection_stats["processes"]), default=pool_snapshots.PROCESS_STARTED_AT)
    now = time.time()
    return {
        "generated_at": now,
        "uptime_seconds": round(now - started, 1),
        "reset_at": baseline.reset_at,
        "seconds_since_reset": round(now - baseline.reset_at, 1) if baseline.reset_at else None,
        "unavailable": unavailable,
        "throughput": throughput,
        "webhook": {
            "count": int(total(delta, metrics.sample_name(metrics.WEBHOOK_OUTCOMES))),
            "latency_ms": _ms(
                histogram_quantiles(delta, metrics.sample_name(metrics.WEBHOOK_LATENCY), WEBHOOK_QUANTILES)
            ),
            "outcomes": by_label(delta, metrics.sample_name(metrics.WEBHOOK_OUTCOMES), "outcome"),
            "signature_failures": by_label(delta, metrics.sample_name(metrics.SIGNATURE_FAILURES), "reason"),
            "rejected": by_label(delta, metrics.sample_name(metrics.WEBHOOK_REJECTED), "reason"),
            "rate_limit_hits": int(total(delta, metrics.sample_name(metrics.RATE_LIMIT_HITS))),
            "rate_limit_unavailable": int(total(delta, metrics.sample_name(metrics.RATE_LIMIT_UNAVAILABLE))),
        },
        "processing": _processing(delta),
        "media": {
            "download_latency_ms": _ms(
                histogram_quantiles(delta, metrics.sample_name(metrics.MEDIA_DOWNLOAD_LATENCY), PROCESSING_QUANTILES)
            ),
            "downloads": int(total(delta, metrics.sample_name(metrics.MEDIA_DOWNLOAD_LATENCY, "_count"))),
            "bytes": int(total(delta, metrics.sample_name(metrics.MEDIA_DOWNLOAD_BYTES))),
        },
        "speech": {
            "latency_ms": _ms(
                histogram_quantiles(delta, metrics.sample_name(metrics.SPEECH_LATENCY), PROCESSING_QUANTILES)
            ),
            "calls": int(total(delta, metrics.sample_name(metrics.SPEECH_LATENCY, "_count"))),
        },
        "gemini": _gemini(delta),
        "outbound_sms": by_label(delta, metrics.sample_name(metrics.OUTBOUND_SMS), "result"),
        "errors": {
            "processing": by_label(delta, metrics.sample_name(metrics.PROCESSING_ERRORS), "code"),
            "speech": by_label(delta, metrics.sample_name(metrics.SPEECH_ERRORS), "reason"),
            "gemini": by_label(delta, metrics.sample_name(metrics.GEMINI_ERRORS), "reason"),
            "media_download": by_label(delta, metrics.sample_name(metrics.MEDIA_DOWNLOAD_ERRORS), "reason"),
            "cache": by_label(delta, metrics.sample_name(metrics.CACHE_ERRORS), "cache"),
            "outbound_sms_failed": int(total(delta, metrics.sample_name(metrics.OUTBOUND_SMS), result="failed")),
        },
        "http_responses": by_label(delta, "django_http_responses_total_by_status_total", "status"),
        "queue_depth": celery_queue_depth(),
        "backlog": _or_fallback("backlog", backlogs_as_dicts, _NO_BACKLOG, unavailable),
        "lifetime": {
            "webhooks": int(total(lifetime, metrics.sample_name(metrics.WEBHOOK_OUTCOMES))),
            "processed": int(total(lifetime, metrics.sample_name(metrics.PROCESSING_OUTCOMES))),
            "processing_errors": int(total(lifetime, metrics.sample_name(metrics.PROCESSING_ERRORS))),
            "outbound_sms": by_label(lifetime, metrics.sample_name(metrics.OUTBOUND_SMS), "result"),
            "gemini_cost_usd": round(total(lifetime, metrics.sample_name(metrics.GEMINI_COST)), 4),
        },
        "caches": cache_stats_list(delta, lifetime),
        "connections": connection_stats,
        "database": database,
    }


_NO_BACKLOG: list[dict[str, object]] = []
_NO_DATABASE: dict[str, Any] = {"vendor": "unavailable", "connections": None, "pools": None, "tables": []}


def database_stats_get_with(connection_stats: dict[str, Any]) -> dict[str, Any]:
    """Database figures plus the PostgreSQL pool totals from ``connection_stats``."""
    stats = database_stats()
    stats["pools"] = connection_stats["totals"].get("postgresql")
    return stats
