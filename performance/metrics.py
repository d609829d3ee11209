"""Every metric of the service, defined once (docs/ARCHITECTURE.md, "Caches, pools, metrics").

prometheus_client runs in multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set before
it is first imported (gunicorn.conf.py does this): each process writes its values to files in
that directory and readers aggregate them, so a number read here or scraped from /metrics is
the sum over every worker process, not the one that happened to answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector

# Latencies of the hot path sit between 1 and 25 ms; the buckets are dense there.
FAST_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

# --- Webhook intake ---------------------------------------------------------------------
WEBHOOK_LATENCY = Histogram(
    "smsgw_webhook_latency_seconds",
    "Time to answer a Twilio webhook, by outcome.",
    ["outcome"],
    buckets=FAST_BUCKETS,
)
WEBHOOK_OUTCOMES = Counter("smsgw_webhook_outcomes", "Webhook deliveries by outcome (X-SMS-Outcome).", ["outcome"])
SIGNATURE_FAILURES = Counter(
    "smsgw_webhook_signature_failures",
    "Webhook requests refused with 403 (missing/invalid signature, foreign account).",
    ["reason"],
)
WEBHOOK_REJECTED = Counter("smsgw_webhook_rejected", "Webhook requests refused with 400, by reason.", ["reason"])
RATE_LIMIT_HITS = Counter("smsgw_rate_limit_hits", "Messages refused by the per-sender rate limit.")
RATE_LIMIT_UNAVAILABLE = Counter(
    "smsgw_rate_limit_unavailable",
    "Messages accepted without a rate-limit check because Redis did not answer.",
)

# --- Outbox relay and intake spool ------------------------------------------------------
RELAY_DISPATCHED = Counter("smsgw_relay_dispatched", "Stored messages the relay handed to the broker.")
RELAY_REQUEUED = Counter(
    "smsgw_relay_requeued",
    "Messages the relay's sweep put back in the outbox, by reason (lease_expired, lost).",
    ["reason"],
)
RELAY_PUBLISH_ERRORS = Counter("smsgw_relay_publish_errors", "Broker publishes that failed (broker unreachable).")
OUTBOX_WAITING = Gauge(
    "smsgw_outbox_waiting",
    "Stored messages waiting to be handed to the broker (last measured).",
    multiprocess_mode="mostrecent",
)
SPOOL_PUSHED = Counter("smsgw_spool_pushed", "Messages spooled to Redis because PostgreSQL was unreachable.")
SPOOL_DRAINED = Counter("smsgw_spool_drained", "Spooled messages written by the relay, by intake outcome.", ["outcome"])
SPOOL_DEAD = Counter("smsgw_spool_dead", "Spool entries moved to the dead-letter list, by reason.", ["reason"])
SPOOL_DEPTH = Gauge(
    "smsgw_spool_depth", "Messages in the intake spool (last measured).", multiprocess_mode="mostrecent"
)
SPOOL_OLDEST_SECONDS = Gauge(
    "smsgw_spool_oldest_seconds",
    "Age of the oldest spooled message (last measured).",
    multiprocess_mode="mostrecent",
)

# --- Processing -------------------------------------------------------------------------
PROCESSING_LATENCY = Histogram(
    "smsgw_processing_latency_seconds",
    "Received-to-processed latency of messages, by kind (sms/mms/audio/image/video).",
    ["kind"],
    buckets=SLOW_BUCKETS,
)
PROCESSING_OUTCOMES = Counter(
    "smsgw_processing_outcomes", "Processed messages by kind and outcome.", ["kind", "outcome"]
)
PROCESSING_ERRORS = Counter("smsgw_processing_errors", "Processing failures and retries by error code.", ["code"])
SPEECH_LATENCY = Histogram(
    "smsgw_speech_latency_seconds", "Speech-to-Text recognize call latency.", buckets=SLOW_BUCKETS
)
SPEECH_ERRORS = Counter("smsgw_speech_errors", "Speech-to-Text failures by reason.", ["reason"])
GEMINI_CALLS = Counter(
    "smsgw_gemini_calls",
    "Gemini generate_content calls by outcome (ok, invalid_output, unavailable, rejected).",
    ["outcome"],
)
GEMINI_LATENCY = Histogram(
    "smsgw_gemini_latency_seconds", "Gemini generate_content call latency.", buckets=SLOW_BUCKETS
)
GEMINI_ERRORS = Counter("smsgw_gemini_errors", "Gemini failures by reason.", ["reason"])
GEMINI_TOKENS = Counter(
    "smsgw_gemini_tokens",
    "Gemini tokens billed, by direction (input: prompt; output: candidates and thinking), from usage_metadata.",
    ["direction"],
)
GEMINI_COST = Counter(
    "smsgw_gemini_cost_usd",
    "Estimated Gemini cost in US dollars: tokens times GEMINI_PRICE_*_PER_MILLION_TOKENS at the time of the call.",
)
MEDIA_DOWNLOAD_LATENCY = Histogram(
    "smsgw_media_download_latency_seconds", "Media download time per attachment.", buckets=SLOW_BUCKETS
)
MEDIA_DOWNLOAD_ERRORS = Counter("smsgw_media_download_errors", "Media download failures by reason.", ["reason"])
MEDIA_DOWNLOAD_BYTES = Counter("smsgw_media_download_bytes", "Bytes of media downloaded.")
OUTBOUND_SMS = Counter("smsgw_outbound_sms", "Outbound SMS by result (sent/failed/skipped).", ["result"])
OUTBOUND_STATUS = Counter(
    "smsgw_outbound_status",
    "Delivery statuses Twilio reported for our texts (status callbacks applied), by status and error code.",
    ["status", "error_code"],
)
STATUS_CALLBACKS = Counter(
    "smsgw_status_callbacks",
    "Status callbacks received, by result (applied/duplicate/stale/unknown).",
    ["result"],
)

# --- Caches -----------------------------------------------------------------------------
CACHE_HITS = Counter("smsgw_cache_hits", "Named cache hits.", ["cache"])
CACHE_MISSES = Counter("smsgw_cache_misses", "Named cache misses.", ["cache"])
CACHE_SETS = Counter("smsgw_cache_sets", "Named cache writes.", ["cache"])
CACHE_ERRORS = Counter("smsgw_cache_errors", "Named cache operations that failed (backend down).", ["cache"])
CACHE_LOCAL_HITS = Counter(
    "smsgw_cache_local_hits", "Named cache hits answered by the process's near cache, without Redis.", ["cache"]
)

# --- Queue and pools --------------------------------------------------------------------
QUEUE_DEPTH = Gauge(
    "smsgw_celery_queue_depth",
    "Messages waiting in the Celery broker queue (last measured).",
    ["queue"],
    multiprocess_mode="mostrecent",
)
POOL_CONNECTIONS = Gauge(
    "smsgw_pool_connections",
    "Connection pool state by pool and state (size/in_use/idle/waiting/max), summed over live processes.",
    ["pool", "state"],
    multiprocess_mode="livesum",
)


def sample_name(metric: MetricWrapperBase, suffix: str = "") -> str:
    """The name ``metric``'s samples carry when read back (counters end in ``_total``; a
    histogram's ``suffix`` picks ``_count``, ``_sum`` or ``_bucket``). Readers name series
    through this, never as strings, so a renamed metric cannot silently read as zero."""
    name: str = metric._name
    if metric._type == "counter":
        name += "_total"
    return name + suffix


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def read_registry() -> CollectorRegistry:
    """A registry whose collection covers every process (or just this one when single-process)."""
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return registry


def sample_values(
    metric_name: str, registry: CollectorRegistry | None = None
) -> dict[tuple[tuple[str, str], ...], float]:
    """Values of every sample called ``metric_name`` (e.g. ``smsgw_cache_hits_total``), keyed by labels."""
    registry = registry or read_registry()
    values: dict[tuple[tuple[str, str], ...], float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == metric_name:
                key = tuple(sorted(sample.labels.items()))
                values[key] = values.get(key, 0.0) + sample.value
    return values


def sample_total(
    metric_name: str, labels: dict[str, str] | None = None, registry: CollectorRegistry | None = None
) -> float:
    """Sum of the samples called ``metric_name`` whose labels include ``labels``."""
    wanted: Iterable[tuple[str, str]] = (labels or {}).items()
    wanted_set = set(wanted)
    return sum(value for key, value in sample_values(metric_name, registry).items() if wanted_set.issubset(set(key)))


VERIFICATION_BUDGET_EXHAUSTED = Counter(
    "smsgw_verification_budget_exhausted",
    "Verification codes refused because the service's daily send budget was used up.",
)
