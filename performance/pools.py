"""Pool registry: each connection pool registers a function reporting its state.

Stats follow one shape: ``size`` (connections open), ``in_use``, ``idle``, ``waiting``
(callers blocked on the pool) and ``max``. The registry is per process; the performance
API publishes and aggregates snapshots across processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypedDict

logger = logging.getLogger(__name__)


class PoolStats(TypedDict):
    size: int
    in_use: int
    idle: int
    waiting: int
    max: int


StatsFn = Callable[[], PoolStats]

_pools: dict[str, StatsFn] = {}


def register_pool(name: str, stats_fn: StatsFn) -> None:
    """Register (or replace) the stats function of the pool called ``name``."""
    _pools[name] = stats_fn


def unregister_pool(name: str) -> None:
    _pools.pop(name, None)


def pool_stats() -> dict[str, PoolStats | dict[str, str]]:
    """Current stats of every registered pool in this process; a failing pool reports its error."""
    result: dict[str, PoolStats | dict[str, str]] = {}
    for name, fn in sorted(_pools.items()):
        try:
            result[name] = fn()
        except Exception as exc:
            logger.warning("pool %s stats failed", name, exc_info=True)
            result[name] = {"error": type(exc).__name__}
    return result
