"""What the SMS app adds to the admin Performance page (performance knows nothing of SMS):
the recent failed messages, with links to them, and an action forgetting everything cached
about one phone number. Registered from ``SmsConfig.ready()``.
"""

from __future__ import annotations

from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from performance.admin_page import Cell, DashboardAction, DashboardPanel, register_action, register_panel
from sms.masking import mask_phone
from sms.models import InboundMessage, MessageStatus, PhoneNumber
from sms.selectors import DeliveryRate, delivery_rates_get
from sms.senders import sender_forget

RECENT_FAILURES = 20
DELIVERY_WINDOW_HOURS = 24


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _rate_row(rate: DeliveryRate) -> list[Cell]:
    counts = (rate.total, rate.delivered, rate.undelivered, rate.failed, rate.refused, rate.pending)
    return [rate.purpose, *(str(count) for count in counts), _percent(rate.delivery_rate)]


def delivery_rate_rows(rates: list[DeliveryRate]) -> list[list[Cell]]:
    rows = [_rate_row(rate) for rate in rates]
    if len(rates) > 1:
        rows.append(_rate_row(DeliveryRate("all", *(sum(getattr(r, f) for r in rates) for f in DELIVERY_FIELDS))))
    return rows


DELIVERY_FIELDS = ("total", "refused", "pending", "delivered", "undelivered", "failed")
DELIVERY_COLUMNS = ["purpose", "sent", "delivered", "undelivered", "failed", "refused", "awaiting", "delivery rate"]


def delivery_rates_panel() -> DashboardPanel:
    """Delivery receipts (status callbacks) of the texts sent in the last 24 hours, per purpose."""
    rates = delivery_rates_get(since=timezone.now() - timedelta(hours=DELIVERY_WINDOW_HOURS))
    return DashboardPanel(
        title=f"Outbound delivery (last {DELIVERY_WINDOW_HOURS} h)",
        columns=DELIVERY_COLUMNS,
        rows=delivery_rate_rows(rates),
        empty_text="No texts sent.",
    )


def recent_failures_panel() -> DashboardPanel:
    # Served by sms_msg_status_received_idx (status, received_at).
    failed = (
        InboundMessage.objects.filter(status=MessageStatus.FAILED)
        .order_by("-received_at")
        .only("id", "message_sid", "from_number", "error_code", "attempts", "received_at", "num_media")[
            :RECENT_FAILURES
        ]
    )
    rows: list[list[Cell]] = [
        [
            (message.message_sid, reverse("admin:sms_inboundmessage_change", args=[message.pk])),
            mask_phone(message.from_number),
            message.error_code or "-",
            str(message.attempts),
            str(message.num_media),
            timezone.localtime(message.received_at).strftime("%Y-%m-%d %H:%M:%S"),
        ]
        for message in failed
    ]
    return DashboardPanel(
        title=f"Recent failures (last {RECENT_FAILURES})",
        columns=["message", "from", "error code", "attempts", "media", "received"],
        rows=rows,
        empty_text="No failed messages.",
    )


def normalize_number(raw: str) -> str:
    try:
        parsed = phonenumbers.parse(raw, settings.SMS_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{raw!r} is not a phone number.") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"{raw!r} is not a phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def invalidate_phone_number(raw: str) -> str:
    number = normalize_number(raw)
    user_id = PhoneNumber.objects.filter(number=number).values_list("user_id", flat=True).first()
    sender_forget(number=number, user_id=user_id)
    return f"Forgot the cached entries of {mask_phone(number)}."


def register() -> None:
    register_panel("sms_recent_failures", recent_failures_panel)
    register_panel("sms_delivery_rates", delivery_rates_panel)
    register_action(
        DashboardAction(
            name="invalidate_phone",
            label="Invalidate phone number",
            description="Forget the cached sender lookup, verification and rate-limit status of one number.",
            handler=invalidate_phone_number,
            superuser_only=False,
            input_label="phone number (E.164)",
        )
    )
