"""Per-sender rate limit: a sliding one-hour window in Redis (docs/ARCHITECTURE.md, "The intake path").

The window for a number is a sorted set under ``rate_limit_key(number)``: one member per
message let through (its MessageSid), scored by arrival time in ms. One Lua script trims the
window, checks it and counts the message, so concurrent messages on any number of workers
can never let more than the limit through, and it costs one Redis round trip. A MessageSid
already in the window (a Twilio retry) is allowed without being counted twice. When a sender
is over the limit the script also claims, once per window, the right to tell them so. The
same window, keyed ``link:<user id>``, caps a user's link requests (``sms.services.linking``).

The limiter also keeps a memo, "over the limit until <ts>", in the ``rate_limit_status`` named
cache: the webhook reads it with the sender state (``sms.senders``), so a flood from one number
costs one read per message and no script call. rate_limit_reset() forgets a number's window and
memo (account deletion, from the admin or anywhere else; the load test's sender set-up).

Without Redis (the embedded default) the same window is kept in this process.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from performance import metrics
from performance.caches import NamedCache, named_cache, redis_client
from sms.masking import mask_phone

logger = logging.getLogger(__name__)

KEY_PREFIX = "smsgw:rl:"
WINDOW_SECONDS = 3600

# KEYS[1] window (sorted set), KEYS[2] "told them" marker; ARGV window_ms, limit, member.
# Server time, so several web nodes share one clock.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  return {1, 0, 0}
end
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local retry = window
if oldest[2] then retry = tonumber(oldest[2]) + window - now end
if retry < 1 then retry = 1 end
local told = redis.call('SET', KEYS[2], '1', 'NX', 'PX', retry)
return {0, retry, told and 1 or 0}
"""


@dataclass(frozen=True)
class RateLimitResult:
    is_allowed: bool
    retry_after: float  # seconds until a slot frees (0 when allowed)
    should_notify: bool  # first refusal in this window: tell the sender


def rate_limit_key(number: str) -> str:
    return KEY_PREFIX + number


def _notified_key(number: str) -> str:
    return KEY_PREFIX + "told:" + number


_script_cache: dict[int, Any] = {}


def _script(client: Any) -> Any:
    script = _script_cache.get(id(client))
    if script is None:
        script = client.register_script(_SCRIPT)
        _script_cache[id(client)] = script
    return script


def rate_limit_hit(*, number: str, member: str, limit: int | None = None) -> RateLimitResult:
    """Check and count one message from ``number`` (``member``: its MessageSid) atomically."""
    limit = settings.SMS_RATE_LIMIT_PER_HOUR if limit is None else limit
    client = redis_client()
    if client is None:
        return _local_hit(number, member, limit)
    try:
        allowed, retry_ms, told = _script(client)(
            keys=[rate_limit_key(number), _notified_key(number)], args=[WINDOW_SECONDS * 1000, limit, member]
        )
    except Exception:
        metrics.RATE_LIMIT_UNAVAILABLE.inc()
        logger.warning("rate limit unavailable, accepting message from %s unchecked", mask_phone(number), exc_info=True)
        return RateLimitResult(is_allowed=True, retry_after=0.0, should_notify=False)
    return RateLimitResult(is_allowed=bool(allowed), retry_after=int(retry_ms) / 1000, should_notify=bool(told))


def rate_limit_reset(*, number: str) -> None:
    """Forget the sender's window and any cached over-limit state."""
    client = redis_client()
    if client is not None:
        client.delete(rate_limit_key(number), _notified_key(number))
    else:
        with _local_lock:
            _local_windows.pop(number, None)
            _local_told.pop(number, None)
    rate_limit_memo_forget(number)


def rate_limit_memo_cache() -> NamedCache:
    """E.164 number -> epoch seconds until which it is over the limit."""
    return named_cache("rate_limit_status", settings.CACHE_RATE_LIMIT_TTL)


def rate_limit_memo_set(number: str, retry_after: float) -> None:
    """Remember that ``number`` is over the limit for ``retry_after`` seconds."""
    rate_limit_memo_cache().set(
        number, time.time() + retry_after, ttl=max(1, min(math.ceil(retry_after), settings.CACHE_RATE_LIMIT_TTL))
    )


def rate_limit_memo_until(value: Any) -> float | None:
    """The memo's cached ``value`` read as "over the limit until" (None: not, or no longer)."""
    return float(value) if isinstance(value, int | float) and value > time.time() else None


def rate_limit_memo_forget(number: str) -> None:
    rate_limit_memo_cache().delete(number)


# --- Embedded default (no Redis): the same semantics, in this process -------------------
_local_lock = threading.Lock()
_local_windows: dict[str, dict[str, float]] = {}
_local_told: dict[str, float] = {}


def _local_hit(number: str, member: str, limit: int) -> RateLimitResult:
    now = time.time()
    with _local_lock:
        window = {m: t for m, t in _local_windows.get(number, {}).items() if t > now - WINDOW_SECONDS}
        _local_windows[number] = window
        if member in window:
            return RateLimitResult(True, 0.0, False)
        if len(window) < limit:
            window[member] = now
            return RateLimitResult(True, 0.0, False)
        retry = max(min(window.values()) + WINDOW_SECONDS - now, 0.001)
        told = _local_told.get(number, 0.0) <= now
        if told:
            _local_told[number] = now + retry
        return RateLimitResult(False, retry, told)
