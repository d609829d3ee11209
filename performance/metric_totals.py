"""Reading the metrics: counter totals, bucket-interpolated percentiles, the reset baseline
and throughput windows. Everything reads the aggregated registry (all processes together).

Reset never touches Prometheus: it stores the current totals as a baseline in Redis and
later reads subtract it, so counters stay monotonic for Prometheus' ``rate()``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from prometheus_client import CollectorRegistry

from performance import metrics
from performance.caches import redis_client

logger = logging.getLogger(__name__)

RESET_AT_KEY = "smsgw:perf:reset-at"
BASELINE_KEY = "smsgw:perf:baseline"
SAMPLES_KEY = "smsgw:perf:samples"
SAMPLE_LOCK_KEY = "smsgw:perf:sample-lock"
SAMPLES_KEPT = 120
# Families whose samples a baseline covers (counters and histogram buckets).
TRACKED_PREFIXES = ("smsgw_", "django_http_responses_total_by_status")

Labels = tuple[tuple[str, str], ...]
Totals = dict[tuple[str, Labels], float]


def current_totals(registry: CollectorRegistry | None = None) -> Totals:
    """Every counter/histogram sample of ours, summed over processes, keyed by (name, labels)."""
    registry = registry or metrics.read_registry()
    totals: Totals = {}
    for family in registry.collect():
        if family.type not in ("counter", "histogram"):
            continue
        for sample in family.samples:
            if not sample.name.startswith(TRACKED_PREFIXES) or sample.name.endswith("_created"):
                continue
            key = (sample.name, tuple(sorted(sample.labels.items())))
            totals[key] = totals.get(key, 0.0) + sample.value
    return totals


@dataclass(frozen=True)
class Baseline:
    reset_at: float | None
    totals: Totals


def universe() -> str:
    """The processes whose metrics one read sums: those sharing a multiprocess directory on
    this host (or this process alone). Baselines and samples are kept per universe so that
    figures from different hosts are never subtracted from one another."""
    return f"{socket.gethostname()}:{metrics.multiprocess_dir() or f'pid{os.getpid()}'}"


def _load(key: str) -> Any:
    client = redis_client()
    raw = client.get(key) if client is not None else caches["default"].get(key)
    return json.loads(raw) if raw else None


def _store(key: str, value: Any) -> None:
    data = json.dumps(value)
    client = redis_client()
    if client is not None:
        client.set(key, data)
    else:
        caches["default"].set(key, data, None)


def _store_baseline(reset_at: float, totals: Totals) -> Baseline:
    rows = [[name, list(labels), value] for (name, labels), value in totals.items()]
    _store(BASELINE_KEY + ":" + universe(), {"reset_at": reset_at, "totals": rows})
    return Baseline(reset_at, totals)


def baseline_get(totals: Totals | None = None) -> Baseline:
    """The baseline of the last reset for this universe. A reset made on another host is
    taken here at the first read after it (or by the snapshot thread within one interval)."""
    reset_at = _load(RESET_AT_KEY)
    if reset_at is None:
        return Baseline(None, {})
    own = _load(BASELINE_KEY + ":" + universe())
    if own is None or own["reset_at"] < reset_at:
        return _store_baseline(float(reset_at), totals if totals is not None else current_totals())
    stored: Totals = {(name, tuple(tuple(pair) for pair in labels)): value for name, labels, value in own["totals"]}
    return Baseline(float(reset_at), stored)


def baseline_reset() -> Baseline:
    """Store the current totals as the baseline that "since reset" figures subtract."""
    reset_at = time.time()
    baseline = _store_baseline(reset_at, current_totals())
    _store(RESET_AT_KEY, reset_at)
    logger.info("performance metrics baseline reset")
    return baseline


def since(current: Totals, baseline: Baseline) -> Totals:
    """``current`` minus the baseline. A total below its baseline means the processes
    restarted since the reset (the metrics directory is wiped): the current value is all new."""
    delta: Totals = {}
    for key, value in current.items():
        base = baseline.totals.get(key, 0.0)
        delta[key] = value - base if value >= base else value
    return delta


def select(totals: Totals, name: str, **labels: str) -> dict[Labels, float]:
    wanted = set(labels.items())
    return {lbl: v for (n, lbl), v in totals.items() if n == name and wanted.issubset(lbl)}


def total(totals: Totals, name: str, **labels: str) -> float:
    return sum(select(totals, name, **labels).values())


def by_label(totals: Totals, name: str, label: str, **labels: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for lbl, value in select(totals, name, **labels).items():
        key = dict(lbl).get(label, "")
        out[key] = out.get(key, 0) + int(value)
    # Labels with nothing since the reset are left out: a code seen only before it is noise.
    return {key: value for key, value in sorted(out.items()) if value}


def histogram_quantiles(
    totals: Totals, name: str, quantiles: tuple[float, ...], **labels: str
) -> dict[str, float | None]:
    """Quantiles of histogram ``name`` (e.g. ``smsgw_webhook_latency_seconds``), interpolated
    linearly inside the bucket the rank falls in, like PromQL's histogram_quantile. None when
    nothing was observed. A rank in the +Inf bucket reports the largest finite bound."""
    buckets: dict[float, float] = {}
    for lbl, observed in select(totals, name + "_bucket", **labels).items():
        le = float(dict(lbl)["le"])
        buckets[le] = buckets.get(le, 0.0) + observed
    bounds = sorted(buckets)
    count = buckets.get(math.inf, 0.0)
    result: dict[str, float | None] = {}
    for q in quantiles:
        key = f"p{round(q * 100):d}"
        if count <= 0:
            result[key] = None
            continue
        rank = q * count
        lower, below = 0.0, 0.0
        value: float | None = None
        for le in bounds:
            cumulative = buckets[le]
            if cumulative >= rank:
                if math.isinf(le):
                    value = lower
                else:
                    in_bucket = cumulative - below
                    fraction = (rank - below) / in_bucket if in_bucket else 1.0
                    value = lower + (le - lower) * fraction
                break
            lower, below = le, cumulative
        result[key] = value
    return result


# --- Throughput ---------------------------------------------------------------------------
def samples_key() -> str:
    return SAMPLES_KEY + ":" + universe()


def _sample(totals: Totals) -> dict[str, float]:
    return {
        "ts": time.time(),
        "webhooks": total(totals, metrics.sample_name(metrics.WEBHOOK_OUTCOMES)),
        "processed": total(totals, metrics.sample_name(metrics.PROCESSING_OUTCOMES)),
    }


def throughput_record(totals: Totals | None = None, min_interval: float = 5.0) -> None:
    """Append a (time, webhooks, processed) sample to the shared history, at most one per
    ``min_interval`` seconds across all processes (a Redis lock decides who records)."""
    client = redis_client()
    if client is None:
        return
    if not client.set(SAMPLE_LOCK_KEY + ":" + universe(), "1", nx=True, px=max(int(min_interval * 1000), 1)):
        return
    sample = _sample(totals if totals is not None else current_totals())
    key = samples_key()
    pipe = client.pipeline()
    pipe.lpush(key, json.dumps(sample))
    pipe.ltrim(key, 0, SAMPLES_KEPT - 1)
    pipe.execute()


def throughput(totals: Totals, windows: tuple[int, ...] = (60, 300)) -> dict[str, dict[str, float | None]]:
    """Per window: messages per second received (webhooks) and processed, from the oldest
    stored sample inside the window to now. ``seconds`` is the span really covered (shorter
    than the window right after a start); rates are None until a sample is 1 s old."""
    now = _sample(totals)
    client = redis_client()
    history = [json.loads(raw) for raw in client.lrange(samples_key(), 0, -1)] if client is not None else []
    result: dict[str, dict[str, float | None]] = {}
    for window in windows:
        inside = [s for s in history if now["ts"] - s["ts"] <= window + 1]
        oldest = min(inside, key=lambda s: s["ts"]) if inside else None
        span = now["ts"] - oldest["ts"] if oldest else 0.0
        entry: dict[str, float | None] = {"seconds": round(span, 1), "webhooks_per_second": None}
        entry["processed_per_second"] = None
        if oldest is not None and span >= 1.0:
            for field in ("webhooks", "processed"):
                delta = now[field] - oldest[field]
                if delta < 0:  # restarted inside the window
                    delta = now[field]
                entry[f"{field}_per_second"] = round(delta / span, 3)
        result[f"{window // 60}m"] = entry
    return result
