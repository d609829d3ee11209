"""How the clients that speak HTTP through ``requests`` (Twilio's REST SDK, media downloads) call out.

An :class:`HttpPolicy` (pool size, a (connect, read) timeout pair, retries and their backoff)
becomes a :class:`PooledAdapter`: one keep-alive pool per host, mounted on the client's session,
whose numbers ``pool_stats()`` gives to ``performance.pools``. A request that got no HTTP answer
at all (refused, reset, timed out) becomes the client's own transient error
(:func:`transport_errors`). Each client still decides what only it knows: which failures and
statuses a retry may repeat (:meth:`HttpPolicy.retry`), and what an answer means.

Speech-to-Text (gRPC, or REST through google-auth's session) and Gemini (the genai SDK's own
HTTP client) do not go through ``requests``; their SDKs take a timeout and a retry setting instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from performance.pools import PoolStats


@dataclass(frozen=True)
class HttpPolicy:
    pool_size: int  # keep-alive connections per host
    connect_timeout: float
    read_timeout: float
    retries: int = 0  # further attempts after a connection error (and what ``retry`` adds)
    backoff: float = 0.0  # seconds, doubled between attempts (a Retry-After header wins)

    def retry(self, **what: Any) -> Retry:
        """``retries`` attempts after a connection error, plus whatever ``what`` allows (reads,
        statuses, methods: urllib3's ``Retry`` arguments). The last answer is returned, never
        raised, so the client maps it like any other."""
        return Retry(
            total=self.retries,
            connect=self.retries,
            backoff_factor=self.backoff,
            raise_on_status=False,
            **what,
        )

    def timeout(self, *, remaining: float | None = None) -> tuple[float, float]:
        """The (connect, read) pair for one request, each cut to ``remaining`` seconds if given: a
        dead host fails fast, a slow answer gets the full read timeout."""
        if remaining is None:
            return (self.connect_timeout, self.read_timeout)
        return (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))


class PooledAdapter(HTTPAdapter):
    """``policy.pool_size`` keep-alive connections to each of up to ``hosts`` hosts, retried by
    ``retry``. A full pool never blocks a caller: the extra connection is closed after its request."""

    def __init__(self, policy: HttpPolicy, *, retry: Retry, hosts: int = 1) -> None:
        super().__init__(pool_connections=hosts, pool_maxsize=policy.pool_size, max_retries=retry, pool_block=False)

    def mount_on(self, session: requests.Session) -> requests.Session:
        session.mount("https://", self)
        session.mount("http://", self)
        return session

    def pool_stats(self) -> PoolStats:
        """size/in_use/idle/max of the urllib3 pools (summed over hosts).

        urllib3 keeps a LIFO queue pre-filled with ``None`` placeholders: a connection checked
        out leaves the queue, an idle one sits in it, a placeholder is a slot never used.
        """
        size = in_use = idle = 0
        maxsize = 0
        for key in list(self.poolmanager.pools.keys()):
            pool = self.poolmanager.pools.get(key)
            if pool is None or pool.pool is None:
                continue
            queue = list(pool.pool.queue)
            pool_idle = sum(1 for conn in queue if conn is not None)
            pool_in_use = pool.pool.maxsize - len(queue)
            idle += pool_idle
            in_use += pool_in_use
            size += pool_idle + pool_in_use
            maxsize += pool.pool.maxsize
        return {"size": size, "in_use": in_use, "idle": idle, "waiting": 0, "max": maxsize or self._pool_maxsize}  # type: ignore[attr-defined]


@contextmanager
def transport_errors(error: Callable[[str], Exception], system: str) -> Iterator[None]:
    """A request in the block that got no HTTP answer (connection refused or reset, timed out)
    raises ``error``, the client's transient error, naming ``system`` and the kind of failure."""
    try:
        yield
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise error(f"{system} unreachable: {type(exc).__name__}") from exc
