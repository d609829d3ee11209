"""Admin for the SMS models. Numbers are shown masked; bodies and transcripts are read-only."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from sms.masking import mask_phone
from sms.models import (
    EnrichmentItem,
    InboundMessage,
    MediaAttachment,
    OptOut,
    OutboundMessage,
    PhoneNumber,
    VerificationCodeSend,
)
from sms.reprocessing import inbound_messages_reprocess
from sms.senders import sender_forget
from sms.services.accounts import user_delete
from sms.services.opt_out import phone_number_opt_out_set


def masked_phone(field: str, description: str, *, sortable: bool = True) -> Callable[[Any, Any], str]:
    """A column or read-only field showing the number in ``field`` masked to its last 4 digits."""

    @admin.display(description=description, ordering=field if sortable else None)
    def masked(model_admin: Any, obj: Any) -> str:
        return mask_phone(getattr(obj, field))

    return masked


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = (
        "masked_number",
        "user",
        "is_verified",
        "verified_at",
        "opted_out_at",
        "last_sent_at",
        "last_send_status",
    )
    list_filter = ("is_verified", ("opted_out_at", admin.EmptyFieldListFilter))
    search_fields = ("number", "user__username", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    fields = (
        "user",
        "masked_number",
        "is_verified",
        "verified_at",
        "code_expires_at",
        "verification_attempts",
        "last_sent_at",
        "last_send_status",
        "last_send_error",
        "opted_out_at",
        "created_at",
    )
    # An operator edits the owner, the verified flag and the opt-out; the rest is the verification's record.
    readonly_fields = tuple(name for name in fields if name not in {"user", "is_verified", "opted_out_at"})

    masked_number = masked_phone("number", "number")

    def has_add_permission(self, request: object) -> bool:
        # Numbers are linked by their owners through the API, which verifies them.
        return False

    # Edits here (verified, opted out, owner) must reach the webhook at once, like API changes.
    def save_model(self, request: HttpRequest, obj: PhoneNumber, form: Any, change: bool) -> None:
        previous = PhoneNumber.objects.filter(pk=obj.pk).values_list("user_id", flat=True).first()
        super().save_model(request, obj, form, change)
        for user_id in {previous, obj.user_id} - {None}:
            transaction.on_commit(partial(sender_forget, number=obj.number, user_id=user_id))

    def delete_model(self, request: HttpRequest, obj: PhoneNumber) -> None:
        number, user_id = obj.number, obj.user_id
        super().delete_model(request, obj)
        transaction.on_commit(partial(sender_forget, number=number, user_id=user_id))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PhoneNumber]) -> None:
        gone = list(queryset.values_list("number", "user_id"))
        super().delete_queryset(request, queryset)
        for number, user_id in gone:
            transaction.on_commit(partial(sender_forget, number=number, user_id=user_id))


class MediaAttachmentInline(admin.TabularInline):
    model = MediaAttachment
    extra = 0
    can_delete = False
    fields = ("index", "declared_content_type", "sniffed_content_type", "size_bytes", "file")
    readonly_fields = fields

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = (
        "message_sid",
        "masked_from",
        "user",
        "status",
        "outcome",
        "num_media",
        "attempts",
        "error_code",
        "received_at",
        "processed_at",
    )
    list_filter = ("status", "outcome", "error_code")
    search_fields = ("message_sid", "from_number", "user__username")
    date_hierarchy = "received_at"
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    inlines = [MediaAttachmentInline]
    actions = ["reprocess"]
    exclude = ("from_number", "to_number")
    readonly_fields = (
        "message_sid",
        "masked_from",
        "masked_to",
        "body",
        "num_media",
        "outcome",
        "error_code",
        "attempts",
        "received_at",
        "processing_started_at",
        "processed_at",
    )

    masked_from = masked_phone("from_number", "from")
    masked_to = masked_phone("to_number", "to", sortable=False)

    def has_add_permission(self, request: object) -> bool:
        return False

    @admin.action(description="Reprocess selected failed messages", permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        selected = queryset.count()
        enqueued = inbound_messages_reprocess(messages=queryset)
        self.message_user(request, f"{enqueued} failed message(s) queued for processing.", messages.SUCCESS)
        if enqueued < selected:
            self.message_user(
                request,
                f"{selected - enqueued} selected message(s) were not failed and were left alone.",
                messages.WARNING,
            )


@admin.register(MediaAttachment)
class MediaAttachmentAdmin(admin.ModelAdmin):
    list_display = ("message", "index", "declared_content_type", "sniffed_content_type", "size_bytes")
    list_filter = ("sniffed_content_type",)
    search_fields = ("message__message_sid",)
    raw_id_fields = ("message",)
    readonly_fields = (
        "message",
        "index",
        "url",
        "declared_content_type",
        "sniffed_content_type",
        "size_bytes",
        "file",
    )

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(EnrichmentItem)
class EnrichmentItemAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "source", "status", "short_value", "details", "created_at")
    list_filter = ("status", "kind", "source")
    search_fields = ("user__username", "message__message_sid", "message__from_number")
    list_select_related = ("user",)
    raw_id_fields = ("user", "message", "media")
    readonly_fields = ("message", "media", "kind", "value", "source", "details", "metadata", "created_at")

    @admin.display(description="value")
    def short_value(self, obj: EnrichmentItem) -> str:
        return obj.value if len(obj.value) <= 60 else obj.value[:57] + "..."

    @admin.display(description="details")
    def details(self, obj: EnrichmentItem) -> str:
        """A person's context, a place's country and coordinates, a contact's numbers, a date."""
        data = obj.metadata if isinstance(obj.metadata, dict) else {}
        if obj.kind == "person":
            text = str(data.get("context", ""))
            if data.get("relation"):
                text = f"({data['relation']}) {text}"
        elif obj.kind == "location":
            text = ", ".join(str(data[k]) for k in ("kind", "state", "country") if data.get(k))
            if data.get("latitude") is not None and data.get("longitude") is not None:
                text += f" ({float(data['latitude']):.4f}, {float(data['longitude']):.4f})"
        elif obj.kind == "contact":
            parts = [str(data.get("organization", ""))] + [mask_phone(p) for p in data.get("phones", [])]
            text = " · ".join(p for p in parts + list(data.get("emails", [])) if p)
        elif obj.kind == "date":
            text = f"{data.get('date', '')} ({data.get('text', '')})"
        else:
            text = ""
        return text if len(text) <= 80 else text[:77] + "..."


@admin.register(VerificationCodeSend)
class VerificationCodeSendAdmin(admin.ModelAdmin):
    """The log the resend caps count; read-only."""

    list_display = ("masked_number", "user", "created_at")
    search_fields = ("number", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    readonly_fields = ("user", "masked_number", "created_at")
    exclude = ("number",)

    masked_number = masked_phone("number", "number")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    """The texts we sent and what Twilio's status callbacks said; the list shows delivery rates
    of the last 24 hours (as the Performance page does). Read-only: Twilio is the source."""

    change_list_template = "admin/sms/outboundmessage/change_list.html"
    list_display = ("message_sid", "masked_number", "purpose", "status", "error_code", "created_at", "final_at")
    list_filter = ("purpose", "status", "error_code")
    search_fields = ("message_sid", "to_number")
    date_hierarchy = "created_at"
    fields = (
        "message_sid",
        "masked_number",
        "user",
        "purpose",
        "status",
        "error_code",
        "created_at",
        "sent_at",
        "status_updated_at",
        "final_at",
    )
    readonly_fields = fields

    masked_number = masked_phone("to_number", "to", sortable=False)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from datetime import timedelta

        from django.utils import timezone

        from sms.performance_panels import DELIVERY_COLUMNS, DELIVERY_WINDOW_HOURS, delivery_rate_rows
        from sms.selectors import delivery_rates_get

        rates = delivery_rates_get(since=timezone.now() - timedelta(hours=DELIVERY_WINDOW_HOURS))
        context = {
            **(extra_context or {}),
            "delivery_columns": DELIVERY_COLUMNS,
            "delivery_rows": delivery_rate_rows(rates),
            "delivery_window_hours": DELIVERY_WINDOW_HOURS,
        }
        return super().changelist_view(request, extra_context=context)


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    """Numbers that texted STOP. Deleting a row opts the number back in (through the service,
    so the linked PhoneNumber and the caches follow)."""

    list_display = ("masked_number", "keyword", "opted_out_at")
    search_fields = ("number",)
    fields = ("masked_number", "keyword", "opted_out_at")
    readonly_fields = ("masked_number", "keyword", "opted_out_at")

    masked_number = masked_phone("number", "number", sortable=False)

    def has_add_permission(self, request: object) -> bool:
        return False

    def delete_model(self, request: Any, obj: OptOut) -> None:
        phone_number_opt_out_set(number=obj.number, opted_out=False)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for number in queryset.values_list("number", flat=True):
            phone_number_opt_out_set(number=number, opted_out=False)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class SmsUserAdmin(UserAdmin):
    """Django's user admin, deleting through user_delete so no file or Redis key is left behind."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for user in queryset:
            user_delete(user=user)
