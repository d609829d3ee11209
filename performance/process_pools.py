"""Stats of the pools every process has: PostgreSQL (Django) and Redis (django-redis).

Registered once per process by ``PerformanceConfig.ready()``; the SMS clients register their
own HTTP and Speech pools when they build them.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created

from performance.pools import PoolStats, register_pool

# Without a pool Django opens one persistent connection per thread; each is tracked here so
# a reader in another thread (the snapshot publisher) can count them.
_open_wrappers: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()


def _track_connection(sender: object, connection: Any, **kwargs: object) -> None:
    with _lock:
        _open_wrappers.add(connection)


def postgresql_pool_stats(alias: str = "default") -> PoolStats:
    """Django's psycopg pool for ``alias`` when DB_POOL is on, else its persistent connections."""
    wrapper_class = type(connections[alias])
    pools = getattr(wrapper_class, "_connection_pools", {})
    pool = pools.get(alias)
    if pool is not None:
        return psycopg_pool_stats(pool)
    with _lock:
        wrappers = [w for w in _open_wrappers if w.alias == alias and w.connection is not None]
    # A connection inside a transaction or running a query is in use; between requests it idles.
    in_use = sum(1 for w in wrappers if w.in_atomic_block or _is_busy(w.connection))
    size = len(wrappers)
    return {"size": size, "in_use": in_use, "idle": size - in_use, "waiting": 0, "max": size}


def psycopg_pool_stats(pool: Any) -> PoolStats:
    """A psycopg_pool.ConnectionPool in the common shape."""
    stats = pool.get_stats()
    size = int(stats.get("pool_size", 0))
    idle = int(stats.get("pool_available", 0))
    return {
        "size": size,
        "in_use": max(size - idle, 0),
        "idle": idle,
        "waiting": int(stats.get("requests_waiting", 0)),
        "max": int(stats.get("pool_max", pool.max_size)),
    }


def _is_busy(raw: Any) -> bool:
    info = getattr(raw, "info", None)
    if info is None:
        return False
    # psycopg TransactionStatus: IDLE=0, ACTIVE=1, INTRANS=2, INERROR=3, UNKNOWN=4
    return int(info.transaction_status) != 0


def redis_pool_stats(alias: str = "default") -> PoolStats:
    """The django-redis connection pool of cache ``alias`` (redis-py ConnectionPool)."""
    from django_redis import get_redis_connection

    pool = get_redis_connection(alias).connection_pool
    idle = len(getattr(pool, "_available_connections", []))
    in_use = len(getattr(pool, "_in_use_connections", []))
    return {
        "size": idle + in_use,
        "in_use": in_use,
        "idle": idle,
        # redis-py's default pool raises instead of queueing when exhausted.
        "waiting": 0,
        "max": int(pool.max_connections),
    }


def register_standard_pools() -> None:
    connection_created.connect(_track_connection, dispatch_uid="performance.track_connection")
    if "postgresql" in str(settings.DATABASES["default"]["ENGINE"]):
        register_pool("postgresql", postgresql_pool_stats)
    if "redis" in str(settings.CACHES["default"]["BACKEND"]).lower():
        register_pool("redis", redis_pool_stats)
