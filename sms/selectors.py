"""Reads of the SMS domain."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime

from django.db.models import QuerySet

from performance.caches import MISSING
from sms.caches import phone_lookup_cache, verification_status_cache
from sms.models import EnrichmentItem, PhoneNumber


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


# --- Phone linking and enrichment review ------------------------------------------------


@dataclass(frozen=True)
class PhoneNumberStatus:
    """What GET /api/user/phone-number shows. Cached per user in ``verification_status``."""

    number: str
    is_verified: bool
    verified_at: datetime | None
    code_expires_at: datetime | None
    last_sent_at: datetime | None
    last_send_status: str
    last_send_error: str
    is_opted_out: bool


_STATUS_FIELDS = (
    "number",
    "is_verified",
    "verified_at",
    "code_expires_at",
    "last_sent_at",
    "last_send_status",
    "last_send_error",
    "opted_out_at",
)


def phone_number_status_get(*, user_id: int) -> PhoneNumberStatus | None:
    """The user's number and its verification/send status (None: no number), through the
    ``verification_status`` cache; phone_caches_invalidate() forgets it on every change."""
    cache = verification_status_cache()
    key = str(user_id)
    cached = cache.get(key)
    if cached is not MISSING:
        return None if cached is None else PhoneNumberStatus(*cached)
    row = PhoneNumber.objects.filter(user_id=user_id).values_list(*_STATUS_FIELDS).first()
    status = None
    if row is not None:
        number, is_verified, verified_at, expires_at, sent_at, send_status, send_error, opted_out_at = row
        status = PhoneNumberStatus(
            number=number,
            is_verified=is_verified,
            verified_at=verified_at,
            code_expires_at=expires_at,
            last_sent_at=sent_at,
            last_send_status=send_status,
            last_send_error=send_error,
            is_opted_out=opted_out_at is not None,
        )
    cache.set(key, None if status is None else astuple(status))
    return status


def enrichment_item_list(
    *, user_id: int, status: str | None = None, source: str | None = None, kind: str | None = None
) -> QuerySet[EnrichmentItem]:
    """The user's items, newest first, optionally filtered.

    ``status=pending`` (the review inbox) is served by the partial index sms_item_pending_idx
    (user_id, created_at DESC) WHERE status = 'pending'.
    """
    items = EnrichmentItem.objects.filter(user_id=user_id)
    if status:
        items = items.filter(status=status)
    if source:
        items = items.filter(source=source)
    if kind:
        items = items.filter(kind=kind)
    return items.order_by("-created_at", "-id")
