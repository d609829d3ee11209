"""The SMS app's named caches (docs/ARCHITECTURE.md, "Caches, pools, metrics") and their invalidation.

TTLs come from settings; the caches are created on first use, never at import time, so
tests that override a TTL see it.
"""

from __future__ import annotations

from django.conf import settings

from performance.caches import NamedCache, named_cache


def phone_lookup_cache() -> NamedCache:
    """E.164 number -> sender info (user id, verified, opted out), negative results included."""
    return named_cache("phone_lookup", settings.CACHE_PHONE_LOOKUP_TTL)


def verification_status_cache() -> NamedCache:
    """User id -> verification status of their number, for the API."""
    return named_cache("verification_status", settings.CACHE_VERIFICATION_TTL)


def rate_limit_status_cache() -> NamedCache:
    """E.164 number -> "over the limit until <ts>", so a flood costs one read per message."""
    return named_cache("rate_limit_status", settings.CACHE_RATE_LIMIT_TTL)


def instructions_sent_cache() -> NamedCache:
    """E.164 number -> the instructions (outcome) texted to it, so they go once per
    SMS_INSTRUCTIONS_INTERVAL. Read with the sender state in the webhook's one MGET, so a flood
    from unknown numbers costs a single Redis round trip per message."""
    return named_cache("instructions_sent", settings.SMS_INSTRUCTIONS_INTERVAL)


def keyword_replies_cache() -> NamedCache:
    """ "<outcome>:<number>" -> our HELP or START reply went to that number lately."""
    return named_cache("keyword_replies", settings.SMS_INSTRUCTIONS_INTERVAL)


def phone_caches_invalidate(*, number: str, user_id: int | None = None) -> None:
    """Forget everything cached about ``number`` (and its owner). Call after commit of the
    change: on verify, unlink, opt-out change and account deletion."""
    phone_lookup_cache().delete(number)
    rate_limit_status_cache().delete(number)
    if user_id is not None:
        verification_status_cache().delete(str(user_id))
