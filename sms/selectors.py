"""Reads of the SMS domain: a user's number status, their items, delivery rates. What is known
about a sender number is read through ``sms.senders``."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime

from django.db.models import QuerySet

from performance.caches import MISSING
from sms.models import EnrichmentItem, PhoneNumber
from sms.senders import verification_status_cache

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
    ``verification_status`` cache; sender_forget() forgets it on every change."""
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
