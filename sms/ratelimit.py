"""Per-sender rate limit: a sliding one-hour window in Redis (DESIGN.md §3.6).

The window for a number lives under one Redis key; rate_limit_reset() forgets it (account
deletion, admin action).
"""

from __future__ import annotations

from django.core.cache import cache

from sms.caches import rate_limit_status_cache

KEY_PREFIX = "smsgw:rl:"


def rate_limit_key(number: str) -> str:
    return KEY_PREFIX + number


def rate_limit_reset(*, number: str) -> None:
    """Forget the sender's window and any cached over-limit state."""
    if hasattr(cache, "client"):  # django-redis: the window is a raw Redis key
        cache.client.get_client(write=True).delete(rate_limit_key(number))
    rate_limit_status_cache().delete(number)
