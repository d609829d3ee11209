"""Named caches over Django's cache framework, with hit/miss counts for all processes together.

A named cache is a key namespace with its own TTL (from settings). Counts go to Prometheus
counters, which in multiprocess mode are summed over every worker. A backend failure (Redis
down) is counted, logged and treated as a miss, so callers fall back to the database instead
of failing the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from performance import metrics
from performance.nearcache import near_cache_for

logger = logging.getLogger(__name__)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

_registry: dict[str, NamedCache] = {}


class NamedCache:
    def __init__(self, name: str, ttl: int, alias: str = "default") -> None:
        self.name = name
        self.ttl = ttl
        self.alias = alias
        self.prefix = f"nc:{name}:"

    @property
    def backend(self) -> Any:
        return caches[self.alias]

    def make_key(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> Any:
        """The cached value, or ``MISSING`` (falsy) on a miss. ``None`` is a cacheable value."""
        values = named_caches_get((self, key))
        return MISSING if values is None else values[0]

    def set(self, key: str, value: Any, ttl: int | None = None) -> bool:
        try:
            with self._written(key):
                self.backend.set(self.make_key(key), value, self.ttl if ttl is None else ttl)
        except Exception:
            metrics.CACHE_ERRORS.labels(self.name).inc()
            logger.warning("cache %s unavailable on set", self.name, exc_info=True)
            return False
        metrics.CACHE_SETS.labels(self.name).inc()
        return True

    def add(self, key: str, value: Any) -> bool | None:
        """Store ``value`` only if ``key`` is absent (atomic). True when stored, False when it was
        there already, None when the backend did not answer (counted)."""
        try:
            with self._written(key):
                stored = bool(self.backend.add(self.make_key(key), value, self.ttl))
        except Exception:
            metrics.CACHE_ERRORS.labels(self.name).inc()
            logger.warning("cache %s unavailable on add", self.name, exc_info=True)
            return None
        if stored:
            metrics.CACHE_SETS.labels(self.name).inc()
        return stored

    def delete(self, *keys: str) -> bool:
        try:
            with self._written(*keys):
                self.backend.delete_many([self.make_key(k) for k in keys])
        except Exception:
            metrics.CACHE_ERRORS.labels(self.name).inc()
            logger.exception("cache %s unavailable on delete", self.name)
            return False
        return True

    @contextmanager
    def _written(self, *keys: str) -> Iterator[None]:
        """Around a write: afterwards (even a failed one, which may have reached Redis) this
        process's near cache drops the keys, so its next read sees the write and no read already
        in flight keeps the old value (performance/nearcache.py)."""
        try:
            yield
        finally:
            near = near_cache_for(self.backend)
            if near is not None:
                client = self.backend.client
                near.forget([str(client.make_key(self.make_key(key))) for key in keys])

    def stats(self) -> dict[str, Any]:
        """Hits, misses, sets and hit rate for every process together."""
        registry = metrics.read_registry()
        labels = {"cache": self.name}
        hits = metrics.sample_total(metrics.sample_name(metrics.CACHE_HITS), labels, registry)
        misses = metrics.sample_total(metrics.sample_name(metrics.CACHE_MISSES), labels, registry)
        sets = metrics.sample_total(metrics.sample_name(metrics.CACHE_SETS), labels, registry)
        errors = metrics.sample_total(metrics.sample_name(metrics.CACHE_ERRORS), labels, registry)
        lookups = hits + misses
        return {
            "name": self.name,
            "ttl": self.ttl,
            "hits": int(hits),
            "misses": int(misses),
            "sets": int(sets),
            "errors": int(errors),
            "hit_rate": (hits / lookups) if lookups else None,
        }

    def live_entries(self) -> int | None:
        """Keys of this cache alive in the backend, counted with SCAN (never on a request path).

        None when the backend cannot enumerate keys or is down.
        """
        backend = self.backend
        if isinstance(backend, LocMemCache):
            return len(self._locmem_keys(backend))
        if not hasattr(backend, "iter_keys"):
            return None
        try:
            return sum(1 for _ in backend.iter_keys(self.prefix + "*", itersize=1000))
        except Exception:
            logger.warning("cache %s unavailable for counting", self.name, exc_info=True)
            return None

    def clear(self) -> int:
        """Delete every entry of this cache only; returns how many keys went."""
        backend = self.backend
        if isinstance(backend, LocMemCache):
            local: Any = backend  # Django's in-process cache; its lock and store are not in the stubs
            keys = self._locmem_keys(local)
            with local._lock:
                for key in keys:
                    local._delete(key)
            return len(keys)
        if hasattr(backend, "delete_pattern"):
            try:
                return int(backend.delete_pattern(self.prefix + "*", itersize=1000))
            finally:
                near = near_cache_for(backend)
                if near is not None:
                    near.clear()
        raise TypeError(f"cache backend of {self.name!r} ({type(backend).__name__}) cannot delete by pattern")

    def _locmem_keys(self, backend: Any) -> list[str]:
        """The in-process cache's stored keys of this cache (the embedded default has no SCAN)."""
        marker = backend.make_key(self.prefix)
        with backend._lock:
            return [key for key in backend._cache if key.startswith(marker) and not backend._has_expired(key)]


def redis_client(alias: str = "default") -> Any | None:
    """The raw redis-py client behind the cache ``alias`` (django-redis), or None on the in-process
    cache of the embedded default. The one way code here reaches Redis directly."""
    backend = caches[alias]
    if hasattr(backend, "client"):
        return backend.client.get_client(write=True)
    return None


def day_counter_add(name: str, amount: float = 1) -> float | None:
    """Add ``amount`` to today's (UTC) counter ``name`` in Redis, kept two days; its new value.
    None on the in-process cache of the embedded default, which keeps no counters."""
    client = redis_client()
    if client is None:
        return None
    key = f"smsgw:day:{name}:{time.strftime('%Y%m%d', time.gmtime())}"
    pipe = client.pipeline()
    pipe.incrbyfloat(key, amount)
    pipe.expire(key, 2 * 24 * 3600)
    return float(pipe.execute()[0])


def day_counter_get(name: str) -> float:
    """Today's (UTC) value of counter ``name``; 0 when unset or without Redis."""
    client = redis_client()
    if client is None:
        return 0.0
    return float(client.get(f"smsgw:day:{name}:{time.strftime('%Y%m%d', time.gmtime())}") or 0)


def named_caches_get(*lookups: tuple[NamedCache, str]) -> list[Any] | None:
    """Read keys of several named caches in one round trip (they share a backend), counting a
    hit or miss for each. Misses are ``MISSING``; ``None`` when the backend did not answer (each
    cache's error is counted), so callers fall back to the database."""
    backend = lookups[0][0].backend
    assert all(cache.alias == lookups[0][0].alias for cache, _ in lookups), "one backend per read"
    keys = [cache.make_key(key) for cache, key in lookups]
    try:
        if hasattr(backend, "client"):
            values = _redis_get(backend, keys, [cache for cache, _ in lookups])
        elif len(keys) > 1:
            found = backend.get_many(keys)
            values = [found.get(key, MISSING) for key in keys]
        else:
            values = [backend.get(keys[0], MISSING)]
    except Exception:
        for cache, _ in lookups:
            metrics.CACHE_ERRORS.labels(cache.name).inc()
        logger.warning("caches %s unavailable on get", ", ".join(c.name for c, _ in lookups), exc_info=True)
        return None
    for (cache, _), value in zip(lookups, values, strict=True):
        (metrics.CACHE_MISSES if value is MISSING else metrics.CACHE_HITS).labels(cache.name).inc()
    return values


def _redis_get(backend: Any, keys: list[str], named: list[NamedCache]) -> list[Any]:
    """django-redis: from this process's near cache when it holds every key, else one MGET on
    the client, decoded by it, without the per-call wrappers of cache.get_many (a quarter of the
    read's CPU, docs/PERFORMANCE.md), and kept in the near cache."""
    client = backend.client
    full = [str(client.make_key(key)) for key in keys]
    near = near_cache_for(backend)
    generation = -1
    if near is not None:
        local, generation = near.get(full)
        if local is not None:
            for cache in named:
                metrics.CACHE_LOCAL_HITS.labels(cache.name).inc()
            return local
    raw = client.get_client(write=False).mget(full)
    values = [MISSING if value is None else client.decode(value) for value in raw]
    if near is not None and generation >= 0:
        near.put(full, values, generation)
    return values


def named_cache(name: str, ttl: int, alias: str = "default") -> NamedCache:
    """The named cache ``name``; the same object is returned for the same name."""
    cache = _registry.get(name)
    if cache is None:
        cache = NamedCache(name, ttl, alias)
        _registry[name] = cache
    elif cache.ttl != ttl:
        raise ValueError(f"named cache {name!r} already registered with ttl={cache.ttl}")
    return cache


def registered_caches() -> dict[str, NamedCache]:
    """Every named cache known to this process: created here, or declared by a catalog."""
    for catalog in list(_catalogs):
        try:
            declared = list(catalog())
        except ValueError:
            # A TTL setting changed since the cache was created (tests do this); the cache
            # already created is the one in use and is listed.
            logger.warning("named cache catalog %r conflicts with a created cache", catalog, exc_info=True)
            continue
        for cache in declared:
            _registry.setdefault(cache.name, cache)
    return dict(sorted(_registry.items()))


_catalogs: list[Callable[[], Iterable[NamedCache]]] = []


def register_cache_catalog(catalog: Callable[[], Iterable[NamedCache]]) -> None:
    """Declare an app's named caches, so the performance pages list them even in a process
    that has not used them yet. ``catalog`` is called at read time (settings then apply)."""
    if catalog not in _catalogs:
        _catalogs.append(catalog)
