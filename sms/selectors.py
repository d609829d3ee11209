"""Reads of the SMS domain."""

from __future__ import annotations

from dataclasses import dataclass

from performance.caches import MISSING
from sms.caches import phone_lookup_cache
from sms.models import PhoneNumber


@dataclass(frozen=True)
class SenderInfo:
    """What the webhook needs to know about a number. Cached as a plain tuple."""

    user_id: int
    is_verified: bool
    is_opted_out: bool


def phone_lookup_get(*, number: str) -> SenderInfo | None:
    """The sender behind ``number`` (None when no user linked it), through the phone_lookup cache.

    Negative results are cached too; phone_caches_invalidate() forgets both kinds.
    """
    cache = phone_lookup_cache()
    cached = cache.get(number)
    if cached is not MISSING:
        return None if cached is None else SenderInfo(*cached)
    row = PhoneNumber.objects.filter(number=number).values_list("user_id", "is_verified", "opted_out_at").first()
    info = None if row is None else SenderInfo(row[0], row[1], row[2] is not None)
    cache.set(number, None if info is None else (info.user_id, info.is_verified, info.is_opted_out))
    return info


def number_is_opted_out(*, number: str) -> bool:
    """Whether ``number`` asked us (STOP) to send nothing. Every outbound path checks this."""
    info = phone_lookup_get(number=number)
    return info is not None and info.is_opted_out
