"""The near cache: each process's own copy of the named-cache entries it read from Redis, kept
true by Redis itself (server-assisted client-side caching, ``CLIENT TRACKING``).

A named-cache read (``performance.caches.named_caches_get``) is answered from this copy when
every key it asks for is here; otherwise it costs the usual MGET and its answer, misses
included, is kept. The copy is never trusted on its own:

- Each process holds one tracking connection to the cache's Redis (RESP3, ``CLIENT TRACKING
  ON BCAST PREFIX <named caches' prefix>``). Redis pushes an invalidation on it for every
  change to a named-cache key, from any process or script: writes, deletes, expiry,
  eviction, ``FLUSHDB``.
- Before every read from the copy, the pushes waiting on that socket are applied (a poll
  that finds nothing costs a few microseconds, against a round trip for the MGET). A change
  made before a read is therefore seen by it, exactly as with the MGET: Redis queues the
  push before it answers the writer.
- A read's answer is kept only when no invalidation was applied while it was in flight (the
  generation counter), so a gthread worker's threads cannot keep a value another thread saw
  invalidated.
- This process's own writes (``NamedCache.set``/``add``/``delete``/``clear``) drop the local
  entry at once.
- Without a healthy tracking connection there is no copy: it is emptied when the connection
  fails and not used until a new one is tracking (tried at most once a second). Entries are
  also dropped after ``CACHE_NEAR_MAX_AGE`` seconds, which bounds a copy behind a connection
  that died without a word, and ``CACHE_NEAR_MAX_ENTRIES`` bounds its size (oldest first).

Reads from the copy count as hits of their named cache like any other, and also as
``smsgw_cache_local_hits_total``, so the performance pages show how many never left the process.
Measured on the webhook in docs/PERFORMANCE.md. Off with ``CACHE_NEAR=false``; never on the
embedded default's in-process cache, which is local already.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from typing import Any

from django.conf import settings
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)

# Named caches' keys start with this (``NamedCache.prefix``), before django-redis's own prefix.
NAMED_PREFIX = "nc:"
RECONNECT_INTERVAL = 1.0


class NearCache:
    """One process's tracked copy of one Redis cache's named-cache entries."""

    def __init__(self, client: Any, *, max_entries: int, max_age: float) -> None:
        self.client = client  # django-redis's client: make_key, get_client
        self.max_entries = max_entries
        self.max_age = max_age
        self.generation = 0
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._connection: Any = None
        self._pid = os.getpid()
        self._retry_at = 0.0

    # -- reads -------------------------------------------------------------------------------

    def get(self, keys: list[str]) -> tuple[list[Any] | None, int]:
        """The values of ``keys`` (full Redis keys) when all are here, else None; with the
        generation to pass to :meth:`put` for the MGET that follows a None."""
        with self._lock:
            if not self._tracking():
                return None, -1
            now = time.monotonic()
            values = []
            entries = self._entries
            for key in keys:
                entry = entries.get(key)
                if entry is None or now - entry[0] > self.max_age:
                    return None, self.generation
                values.append(entry[1])
            return values, self.generation

    def put(self, keys: list[str], values: list[Any], generation: int) -> None:
        """Keep an MGET's answer, unless an invalidation arrived since :meth:`get`."""
        with self._lock:
            if generation != self.generation or self._connection is None:
                return
            now = time.monotonic()
            entries = self._entries
            for key, value in zip(keys, values, strict=True):
                entries.pop(key, None)  # re-inserted last: the dict's order is the eviction order
                entries[key] = (now, value)
            while len(entries) > self.max_entries:
                del entries[next(iter(entries))]

    def forget(self, keys: list[str]) -> None:
        """This process changed ``keys``: drop them now, not when Redis's push arrives."""
        with self._lock:
            self.generation += 1
            for key in keys:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # -- the tracking connection -------------------------------------------------------------

    def _tracking(self) -> bool:
        """Apply every invalidation waiting on the socket; whether the copy may be used.
        Called with the lock held."""
        if self._pid != os.getpid():  # forked: the parent's connection and copy are not ours
            self._pid = os.getpid()
            self._connection = None
            self._entries.clear()
            self._retry_at = 0.0
        if self._connection is None and not self._connect():
            return False
        try:
            while self._connection.can_read(timeout=0):
                self._connection.read_response(push_request=True)
        except Exception:
            logger.warning("near cache: tracking connection lost; reading from Redis until it is back", exc_info=True)
            self._drop()
            return False
        return self._connection is not None

    def _connect(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + RECONNECT_INTERVAL
        pool = self.client.get_client(write=False).connection_pool
        connection = pool.connection_class(**{**pool.connection_kwargs, "protocol": 3})
        try:
            connection.connect()
            connection._parser.set_invalidation_push_handler(self._invalidated)
            prefix = str(self.client.make_key(NAMED_PREFIX))
            connection.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", prefix)
            reply = connection.read_response()
            if reply not in (b"OK", "OK"):
                raise ResponseError(f"CLIENT TRACKING answered {reply!r}")
        except ResponseError:
            # This server has no CLIENT TRACKING (Redis < 6, or a proxy refusing it): it will not
            # change its mind, so this process reads from Redis from now on.
            logger.warning("near cache: Redis refused CLIENT TRACKING; off in this process", exc_info=True)
            self._retry_at = math.inf
            connection.disconnect()
            return False
        except Exception:
            # Redis down or unreachable: named-cache reads fail over to the database meanwhile.
            logger.debug("near cache: no tracking connection yet", exc_info=True)
            connection.disconnect()
            return False
        self._entries.clear()
        self.generation += 1
        self._connection = connection
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._entries.clear()
        self.generation += 1
        if connection is not None:
            try:
                connection.disconnect()
            except Exception:
                logger.debug("near cache: disconnect failed", exc_info=True)

    def _invalidated(self, message: list[Any]) -> None:
        """Redis's push: ``[b"invalidate", [key, ...]]``, or ``[b"invalidate", None]`` after a flush."""
        self.generation += 1
        keys = message[1] if len(message) > 1 else None
        if keys is None:
            self._entries.clear()
            return
        for key in keys:
            self._entries.pop(key.decode() if isinstance(key, bytes) else key, None)

    def close(self) -> None:
        with self._lock:
            self._drop()


_near: dict[tuple[str, str], NearCache] = {}
_near_lock = threading.Lock()


def near_cache_for(backend: Any) -> NearCache | None:
    """The near cache over django-redis ``backend``, or None when it is off or not Redis. One
    per Redis location and key prefix in a process, whichever thread's backend object asks
    (Django gives each thread its own)."""
    if not settings.CACHE_NEAR or not hasattr(backend, "client"):
        return None
    near: NearCache | None = getattr(backend, "_near_cache", None)
    if near is not None:
        return near
    client = backend.client
    where = (repr(getattr(backend, "_server", "")), str(client.make_key(NAMED_PREFIX)))
    near = _near.get(where)
    if near is None:
        with _near_lock:
            near = _near.get(where)
            if near is None:
                near = NearCache(
                    client, max_entries=settings.CACHE_NEAR_MAX_ENTRIES, max_age=settings.CACHE_NEAR_MAX_AGE
                )
                _near[where] = near
    backend._near_cache = near
    return near


def near_caches_clear() -> None:
    """Empty every near cache of this process (tests, after flushing Redis)."""
    for near in list(_near.values()):
        near.clear()
