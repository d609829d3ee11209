"""The intake spool: where the webhook keeps a parsed message while PostgreSQL is unreachable.

A Redis list (``smsgw:spool``) of JSON entries, newest pushed on the left. It lives in Redis,
not in the web process, so an acknowledged message outlives the process that took it. The
relay (``sms/relay.py``) drains it when the database answers again: it moves a batch into an
in-flight sorted set scored by a deadline (one Lua call, so two relays never take the same
entry), writes each message through the normal intake decision (deduplicated by MessageSid),
then removes it. Entries of a relay that died mid-batch go back to the list once their
deadline passes. An entry that fails for a reason other than an outage is moved to
``smsgw:spool:dead`` (metric and log line) instead of blocking the spool forever.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass

from django.conf import settings

from performance import metrics
from performance.caches import redis_client
from sms.webhook.payload import InboundMedia, InboundSms

logger = logging.getLogger(__name__)

SPOOL_KEY = "smsgw:spool"
INFLIGHT_KEY = "smsgw:spool:inflight"
DEAD_KEY = "smsgw:spool:dead"

# KEYS[1] spool, KEYS[2] in-flight; ARGV batch, deadline. Oldest entries first (right end).
_CLAIM = """
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local entry = redis.call('RPOP', KEYS[1])
  if not entry then break end
  redis.call('ZADD', KEYS[2], ARGV[2], entry)
  out[#out + 1] = entry
end
return out
"""
# KEYS[1] spool, KEYS[2] in-flight; ARGV now. Expired in-flight entries go back to the oldest end.
_RECOVER = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, entry in ipairs(expired) do
  redis.call('ZREM', KEYS[2], entry)
  redis.call('RPUSH', KEYS[1], entry)
end
return #expired
"""
# KEYS[1] spool, KEYS[2] in-flight; ARGV entries, newest first. Each still in flight goes back to
# the oldest end, so the oldest is taken first again.
_RELEASE = """
local n = 0
for _, entry in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[2], entry) == 1 then
    redis.call('RPUSH', KEYS[1], entry)
    n = n + 1
  end
end
return n
"""


@dataclass(frozen=True)
class SpoolEntry:
    """A message the webhook acknowledged without a database."""

    sms: InboundSms
    received_at: float  # epoch seconds, when the webhook took it
    is_replied: bool  # the TwiML answer already said what there was to say

    def dumps(self) -> str:
        return json.dumps(
            {"v": 1, "sms": asdict(self.sms), "received_at": self.received_at, "is_replied": self.is_replied},
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> SpoolEntry:
        data = json.loads(raw)
        fields = dict(data["sms"])
        fields["media"] = tuple(InboundMedia(**m) for m in fields.get("media", ()))
        return cls(
            sms=InboundSms(**fields), received_at=float(data["received_at"]), is_replied=bool(data["is_replied"])
        )


def spool_push(entry: SpoolEntry) -> bool:
    """Keep ``entry`` until the database answers. False when Redis cannot take it either."""
    client = redis_client()
    if client is None:
        return False
    try:
        client.lpush(SPOOL_KEY, entry.dumps())
    except Exception:
        logger.warning("intake spool unavailable", exc_info=True)
        return False
    metrics.SPOOL_PUSHED.inc()
    return True


def spool_claim(*, batch: int) -> list[tuple[bytes, SpoolEntry]]:
    """Take up to ``batch`` of the oldest entries; each must be acknowledged or it comes back."""
    client = redis_client()
    if client is None:
        return []
    deadline = time.time() + settings.SMS_SPOOL_INFLIGHT_SECONDS
    raws = client.eval(_CLAIM, 2, SPOOL_KEY, INFLIGHT_KEY, batch, deadline)
    claimed = []
    for raw in raws:
        try:
            claimed.append((raw, SpoolEntry.loads(raw)))
        except (ValueError, KeyError, TypeError):
            spool_bury(raw, reason="unreadable")
    return claimed


def spool_ack(raw: bytes) -> None:
    client = redis_client()
    if client is not None:
        client.zrem(INFLIGHT_KEY, raw)


def spool_release(raws: list[bytes]) -> int:
    """Give back claimed entries not written (the database went away mid-batch), at once rather
    than after their in-flight deadline; ``raws`` in the order they were claimed."""
    client = redis_client()
    if client is None or not raws:
        return 0
    return int(client.eval(_RELEASE, 2, SPOOL_KEY, INFLIGHT_KEY, *reversed(raws)))


def spool_bury(raw: bytes, *, reason: str) -> None:
    """Move an entry that cannot be written to the dead-letter list (kept for an operator)."""
    client = redis_client()
    if client is None:
        return
    pipe = client.pipeline()
    pipe.lpush(DEAD_KEY, raw)
    pipe.zrem(INFLIGHT_KEY, raw)
    pipe.execute()
    metrics.SPOOL_DEAD.labels(reason).inc()
    logger.error("intake spool: entry moved to %s (%s)", DEAD_KEY, reason)


def spool_recover() -> int:
    """Hand back entries whose relay died before acknowledging them."""
    client = redis_client()
    if client is None:
        return 0
    return int(client.eval(_RECOVER, 2, SPOOL_KEY, INFLIGHT_KEY, time.time()))


@dataclass(frozen=True)
class SpoolState:
    depth: int  # waiting + in flight
    oldest_seconds: float | None
    dead: int


def spool_state() -> SpoolState | None:
    """Depth and age of the spool, read now (None without Redis)."""
    client = redis_client()
    if client is None:
        return None
    pipe = client.pipeline(transaction=False)
    pipe.llen(SPOOL_KEY)
    pipe.zcard(INFLIGHT_KEY)
    pipe.lindex(SPOOL_KEY, -1)
    pipe.llen(DEAD_KEY)
    waiting, inflight, oldest, dead = pipe.execute()
    oldest_seconds = None
    if oldest is not None:
        try:
            oldest_seconds = round(max(0.0, time.time() - SpoolEntry.loads(oldest).received_at), 1)
        except (ValueError, KeyError, TypeError):
            oldest_seconds = None
    depth = int(waiting) + int(inflight)
    metrics.SPOOL_DEPTH.set(depth)
    metrics.SPOOL_OLDEST_SECONDS.set(oldest_seconds or 0.0)
    return SpoolState(depth=depth, oldest_seconds=oldest_seconds, dead=int(dead))
