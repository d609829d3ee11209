"""Sender state: what the service knows about a phone number, and the one place it is cached.

The webhook decides every delivery from a :class:`SenderState`, read by :func:`sender_state_get`
in one Redis round trip (MGET over three named caches): the number's owner, whether it is
verified and opted out, whether it is over the rate limit (the memo ``sms.ratelimit`` keeps),
and which instructions it was texted lately. Every other read of a sender goes through the same
function, so there is one read path with one fallback: a cache miss costs one indexed query and
one cache write; a cache outage is counted and falls back to the database without writing.

Every change to a number — link, verify, unlink, opt-out, account deletion, admin edits — ends
with :func:`sender_forget`, called after the change commits (``transaction.on_commit``).

TTLs come from settings; the caches are created on first use, never at import time, so tests
that override a TTL see it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from performance.caches import MISSING, NamedCache, named_cache, named_caches_get
from sms.ratelimit import rate_limit_memo_cache, rate_limit_memo_forget, rate_limit_memo_until


def phone_lookup_cache() -> NamedCache:
    """E.164 number -> (user id or None, verified, opted out); unlinked numbers are cached too."""
    return named_cache("phone_lookup", settings.CACHE_PHONE_LOOKUP_TTL)


def verification_status_cache() -> NamedCache:
    """User id -> verification status of their number, for the API (``sms.selectors``)."""
    return named_cache("verification_status", settings.CACHE_VERIFICATION_TTL)


def instructions_sent_cache() -> NamedCache:
    """E.164 number -> the instructions (outcome) texted to it, so they go once per
    SMS_INSTRUCTIONS_INTERVAL."""
    return named_cache("instructions_sent", settings.SMS_INSTRUCTIONS_INTERVAL)


def keyword_replies_cache() -> NamedCache:
    """ "<outcome>:<number>" -> our HELP or START reply went to that number lately."""
    return named_cache("keyword_replies", settings.SMS_INSTRUCTIONS_INTERVAL)


def sender_caches() -> list[NamedCache]:
    """Every cache about senders, for the performance page's catalogue."""
    return [
        phone_lookup_cache(),
        verification_status_cache(),
        rate_limit_memo_cache(),
        instructions_sent_cache(),
        keyword_replies_cache(),
    ]


@dataclass(frozen=True)
class SenderInfo:
    """A linked number's owner and flags."""

    user_id: int
    is_verified: bool
    is_opted_out: bool


@dataclass(frozen=True)
class SenderState:
    """Everything the webhook needs about a number, linked or not, from one cache round trip."""

    number: str
    user_id: int | None
    is_verified: bool
    is_opted_out: bool
    limited_until: float | None  # epoch seconds; set while the number is known to be over the rate limit
    instructions_sent: str | None = None  # the outcome whose instructions went to this number lately


# Cached phone_lookup entry: (user_id or None, is_verified, is_opted_out).
PhoneEntry = tuple[int | None, bool, bool]

_PHONE_ENTRY_SQL = (
    "SELECT p.user_id, p.verified, (o.id IS NOT NULL OR p.opted_out_at IS NOT NULL) "
    "FROM (SELECT CAST(%s AS varchar(32)) AS number) AS q "
    "LEFT JOIN sms_phonenumber AS p ON p.number = q.number "
    "LEFT JOIN sms_optout AS o ON o.number = q.number"
)


def _phone_entry_load(number: str) -> PhoneEntry:
    """One indexed query (both joins use unique indexes) for linked and unlinked numbers alike."""
    with connection.cursor() as cursor:
        cursor.execute(_PHONE_ENTRY_SQL, [number])
        row = cursor.fetchone()
    assert row is not None
    user_id, is_verified, is_opted_out = row
    return (user_id, bool(is_verified) if user_id is not None else False, bool(is_opted_out))


def sender_state_get(*, number: str) -> SenderState:
    """The sender, its over-limit state and the instructions it was sent: one MGET; a
    phone_lookup miss adds one query and one cache write."""
    lookup = phone_lookup_cache()
    values = named_caches_get((lookup, number), (rate_limit_memo_cache(), number), (instructions_sent_cache(), number))
    entry, limited, instructed = values if values is not None else (MISSING, MISSING, MISSING)
    if entry is MISSING or not isinstance(entry, tuple):
        entry = _phone_entry_load(number)
        if values is not None:
            lookup.set(number, entry)
    user_id, is_verified, is_opted_out = entry
    instructions = instructed if isinstance(instructed, str) else None
    return SenderState(number, user_id, is_verified, is_opted_out, rate_limit_memo_until(limited), instructions)


def sender_get(*, number: str) -> SenderInfo | None:
    """The owner of ``number`` (None when nobody linked it)."""
    state = sender_state_get(number=number)
    if state.user_id is None:
        return None
    return SenderInfo(state.user_id, state.is_verified, state.is_opted_out)


def number_is_opted_out(*, number: str) -> bool:
    """Whether ``number`` asked us (STOP) to send nothing, linked or not. Every outbound path checks this."""
    return sender_state_get(number=number).is_opted_out


def sender_forget(*, number: str, user_id: int | None = None) -> None:
    """Forget everything cached about ``number`` (and its owner's verification status). Call it
    after every change to a number has committed."""
    phone_lookup_cache().delete(number)
    rate_limit_memo_forget(number)
    if user_id is not None:
        verification_status_cache().delete(str(user_id))


def instructions_claim(*, state: SenderState, outcome: str) -> bool:
    """Whether to text ``outcome``'s instructions to ``state.number`` now: at most once per
    SMS_INSTRUCTIONS_INTERVAL, and again when the number got the other instructions meanwhile
    (unknown, then linked but unverified). Without a record of what we sent (Redis down) the
    answer is no: replies are paid, and a loop must be impossible."""
    if state.is_opted_out or state.instructions_sent == outcome:
        return False
    marker = instructions_sent_cache()
    first = marker.add(state.number, outcome)  # atomic: decides between two deliveries at once
    if first is False and state.instructions_sent is not None:
        first = marker.set(state.number, outcome)
    return bool(first)


def keyword_reply_claim(*, number: str, outcome: str) -> bool:
    """Whether our HELP or START reply may go to ``number`` now (once per SMS_INSTRUCTIONS_INTERVAL;
    no when nothing can record it)."""
    return bool(keyword_replies_cache().add(f"{outcome}:{number}", 1))
