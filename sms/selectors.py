"""Reads of the SMS domain."""

from __future__ import annotations

import time
from dataclasses import astuple, dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from performance.caches import MISSING, named_caches_get
from sms.caches import (
    instructions_sent_cache,
    phone_lookup_cache,
    rate_limit_status_cache,
    verification_status_cache,
)
from sms.models import EnrichmentItem, PhoneNumber


@dataclass(frozen=True)
class SenderInfo:
    """What the webhook needs to know about a linked number."""

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

    @property
    def sender(self) -> SenderInfo | None:
        if self.user_id is None:
            return None
        return SenderInfo(self.user_id, self.is_verified, self.is_opted_out)


# Cached phone_lookup entry: (user_id or None, is_verified, is_opted_out). Unlinked numbers are
# cached too (negative result, with their opt-out), so unknown senders cost no query either.
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


def _phone_entry_get(number: str) -> PhoneEntry:
    cache = phone_lookup_cache()
    cached = cache.get(number)
    if cached is not MISSING and isinstance(cached, tuple):
        return cached
    entry = _phone_entry_load(number)
    cache.set(number, entry)
    return entry


def phone_lookup_get(*, number: str) -> SenderInfo | None:
    """The sender behind ``number`` (None when no user linked it), through the phone_lookup cache.

    Negative results are cached too; phone_caches_invalidate() forgets both kinds.
    """
    user_id, is_verified, is_opted_out = _phone_entry_get(number)
    if user_id is None:
        return None
    return SenderInfo(user_id, is_verified, is_opted_out)


def number_is_opted_out(*, number: str) -> bool:
    """Whether ``number`` asked us (STOP) to send nothing, linked or not. Every outbound path checks this."""
    return _phone_entry_get(number)[2]


def sender_state_get(*, number: str) -> SenderState:
    """The sender, its over-limit state and the instructions it was sent, read from three named
    caches in one round trip (MGET).

    A phone_lookup miss costs one query and one cache write; a cache outage is counted and
    falls back to the database, so the webhook keeps working without Redis.
    """
    lookup = phone_lookup_cache()
    values = named_caches_get(
        (lookup, number), (rate_limit_status_cache(), number), (instructions_sent_cache(), number)
    )
    entry, limited, instructed = values if values is not None else (MISSING, MISSING, MISSING)
    if entry is MISSING or not isinstance(entry, tuple):
        entry = _phone_entry_load(number)
        if values is not None:
            lookup.set(number, entry)
    limited_until = float(limited) if isinstance(limited, int | float) and limited > time.time() else None
    user_id, is_verified, is_opted_out = entry
    instructions = instructed if isinstance(instructed, str) else None
    return SenderState(number, user_id, is_verified, is_opted_out, limited_until, instructions)


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


# --- Delivery receipts ------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRate:
    """What Twilio reported for the texts of one purpose sent since a time."""

    purpose: str
    total: int  # texts we tried to send
    refused: int  # Twilio refused the request (no SID)
    pending: int  # taken, no final status yet
    delivered: int
    undelivered: int
    failed: int

    @property
    def delivery_rate(self) -> float | None:
        """Delivered over texts with a final status (None: none yet)."""
        final = self.delivered + self.undelivered + self.failed
        return self.delivered / final if final else None


def delivery_rates_get(*, since: datetime) -> list[DeliveryRate]:
    """Per purpose, for texts created since ``since`` (sms_outbound_created_idx), one grouped query."""
    from django.db.models import Count, Q

    from sms.models import OUTBOUND_FINAL_STATUSES, OutboundMessage

    rows = (
        OutboundMessage.objects.filter(created_at__gte=since)
        .values("purpose")
        .annotate(
            total=Count("id"),
            refused=Count("id", filter=Q(message_sid__isnull=True)),
            pending=Count("id", filter=Q(message_sid__isnull=False) & ~Q(status__in=OUTBOUND_FINAL_STATUSES)),
            delivered=Count("id", filter=Q(status="delivered") | Q(status="read")),
            undelivered=Count("id", filter=Q(status="undelivered")),
            failed=Count("id", filter=Q(message_sid__isnull=False) & Q(status__in=["failed", "canceled"])),
        )
        .order_by("purpose")
    )
    return [
        DeliveryRate(
            r["purpose"], r["total"], r["refused"], r["pending"], r["delivered"], r["undelivered"], r["failed"]
        )
        for r in rows
    ]
