"""Operator actions on the performance figures."""

from __future__ import annotations

import logging

from performance import metric_totals
from performance.caches import registered_caches

logger = logging.getLogger(__name__)


class UnknownCacheError(LookupError):
    """No named cache by that name."""


def metrics_reset() -> float:
    """Start "since reset" figures now. Prometheus counters are untouched. Returns reset_at."""
    baseline = metric_totals.baseline_reset()
    assert baseline.reset_at is not None
    return baseline.reset_at


def named_cache_clear(*, name: str) -> int:
    """Drop every entry of the named cache ``name``; returns how many went."""
    cache = registered_caches().get(name)
    if cache is None:
        raise UnknownCacheError(name)
    removed = cache.clear()
    logger.info("named cache %s cleared (%d entries)", name, removed)
    return removed
