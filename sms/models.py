"""Data model (docs/ARCHITECTURE.md, "Data"). Invariants are database constraints; every index names its query."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class SendStatus(models.TextChoices):
    """What happened to the last verification code we texted."""

    PENDING = "pending", "Pending"  # enqueued, not yet handed to Twilio
    SENT = "sent", "Sent"  # accepted by Twilio (and, with a status callback, handed to the carrier)
    DELIVERED = "delivered", "Delivered"  # the carrier confirmed delivery (status callback)
    UNDELIVERED = "undelivered", "Undelivered"  # the carrier could not deliver it (status callback)
    FAILED = "failed", "Failed"
    OPTED_OUT = "opted_out", "Not sent: number opted out"


class PhoneNumber(models.Model):
    """The number a user texts from. One per user; a number belongs to at most one user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone_number")
    number = models.CharField(max_length=16, unique=True, help_text="E.164, e.g. +14155550100")
    is_verified = models.BooleanField(default=False, db_column="verified")
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_code_hash = models.CharField(max_length=128, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    verification_attempts = models.PositiveSmallIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    last_send_status = models.CharField(max_length=16, choices=SendStatus.choices, blank=True)
    last_send_error = models.CharField(max_length=64, blank=True)
    # Twilio's SID of the last verification code texted: its status callback updates last_send_status.
    last_send_sid = models.CharField(max_length=64, blank=True)
    # Set when Twilio reported the handset unreachable (30003/30005/30006); cleared by a delivery.
    unreachable_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # "Is this number verified (by anyone)?" — the claim check when linking and the
            # verified-sender lookup; only verified rows are ever looked up this way.
            models.Index(
                fields=["number", "is_verified"],
                condition=Q(is_verified=True),
                name="sms_phone_verified_idx",
            ),
        ]

    def __str__(self) -> str:
        from sms.masking import mask_phone

        return mask_phone(self.number)

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None


class VerificationCodeSend(models.Model):
    """One verification code texted: the log the resend caps count (SMS-pumping protection).

    Kept when a number is unlinked, so unlinking and relinking does not reset the caps; removed
    with the user.
    """

    # No index of its own: sms_vsend_user_idx (user, created_at) serves the FK too.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verification_sends", db_index=False
    )
    number = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Cooldown and hourly cap: "codes sent to this number since T".
            models.Index(fields=["number", "created_at"], name="sms_vsend_number_idx"),
            # Daily cap: "codes this user requested since T".
            models.Index(fields=["user", "created_at"], name="sms_vsend_user_idx"),
        ]

    def __str__(self) -> str:
        from sms.masking import mask_phone

        return f"{mask_phone(self.number)} @ {self.created_at:%Y-%m-%d %H:%M:%S}"


class MessageStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class InboundMessage(models.Model):
    """One Twilio delivery, stored once per MessageSid whatever the retries."""

    message_sid = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32)
    body = models.TextField(blank=True)
    num_media = models.PositiveSmallIntegerField(default=0)
    # The Messaging Service the message came through (empty: sent to the number directly).
    messaging_service_sid = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.RECEIVED)
    # What the webhook decided: "accepted" for a note, "keyword_opted_out" / "keyword_opted_in" /
    # "keyword_help" for a STOP/START/HELP delivery (stored so a replay is a duplicate).
    outcome = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    # The row is the outbox (docs/ARCHITECTURE.md): the relay hands `received` rows with no
    # queued_at to Celery and stamps queued_at; retry_at holds a retry back until it is due.
    queued_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # A claim is a lease: a live worker renews it, the relay's sweep takes back one nobody renewed.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Processing and monitoring: "messages in status X, oldest first" (stuck or
            # failed work, queue age, recent failures on the performance page).
            models.Index(fields=["status", "received_at"], name="sms_msg_status_received_idx"),
            # The relay: "received messages not handed to the broker yet" (queued_at IS NULL) and
            # its sweep "received messages handed over before T and never claimed" (queued_at < T).
            models.Index(fields=["queued_at"], condition=Q(status="received"), name="sms_msg_outbox_idx"),
            # The sweep: "claims whose lease ran out".
            models.Index(fields=["lease_expires_at"], condition=Q(status="processing"), name="sms_msg_lease_idx"),
        ]

    def __str__(self) -> str:
        return self.message_sid


class MediaAttachment(models.Model):
    """One MediaUrlN of an MMS, with the type Twilio declared and the type the bytes show."""

    message = models.ForeignKey(InboundMessage, on_delete=models.CASCADE, related_name="media")
    index = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=1024)
    declared_content_type = models.CharField(max_length=128, blank=True)
    sniffed_content_type = models.CharField(max_length=128, blank=True)
    size_bytes = models.PositiveIntegerField(null=True, blank=True)
    # Named by the pipeline (sms/processing/pipeline.py, _store_file), which saves the bytes itself.
    file = models.FileField(max_length=512, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "index"], name="sms_media_message_index_uniq"),
        ]
        ordering = ["message_id", "index"]

    def __str__(self) -> str:
        return f"{self.message_id}#{self.index}"


class ItemKind(models.TextChoices):
    NOTE = "note", "Note"
    TAG = "tag", "Tag"
    CONTACT = "contact", "Contact"
    LOCATION = "location", "Location"
    MEDIA = "media", "Media"
    PERSON = "person", "Person"
    DATE = "date", "Date"


class ItemSource(models.TextChoices):
    SMS = "sms", "SMS"
    MMS = "mms", "MMS"
    VOICE = "voice", "Voice"


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    APPLIED = "applied", "Applied"


class EnrichmentItem(models.Model):
    """Something extracted from a message, waiting for its owner's review."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrichment_items")
    message = models.ForeignKey(InboundMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="items")
    media = models.ForeignKey(MediaAttachment, on_delete=models.SET_NULL, null=True, blank=True, related_name="items")
    kind = models.CharField(max_length=16, choices=ItemKind.choices)
    value = models.TextField()
    source = models.CharField(max_length=16, choices=ItemSource.choices)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # A user's items by status (counts, status filter of the review API).
            models.Index(fields=["user", "status"], name="sms_item_user_status_idx"),
            # Newest items across users (admin list, retention sweeps).
            models.Index(fields=["-created_at"], name="sms_item_created_idx"),
            # Review API filtered by source and status.
            models.Index(fields=["user", "source", "status"], name="sms_item_user_src_status_idx"),
            # The review inbox: a user's pending items, newest first.
            models.Index(
                fields=["user", "-created_at"],
                condition=Q(status="pending"),
                name="sms_item_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.pk}"


class OptOut(models.Model):
    """A number that texted STOP (linked to a user or not). The row is the durable opt-out;
    START deletes it. PhoneNumber.opted_out_at mirrors it for linked numbers."""

    number = models.CharField(max_length=32, unique=True, help_text="E.164, as Twilio sends From")
    opted_out_at = models.DateTimeField(default=timezone.now)
    keyword = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        from sms.masking import mask_phone

        return mask_phone(self.number)


class OutboundPurpose(models.TextChoices):
    VERIFICATION = "verification", "Verification code"
    CONFIRMATION = "confirmation", "Confirmation"
    FAILURE = "failure", "Failure reply"
    INSTRUCTIONS = "instructions", "Instructions or keyword reply"


class OutboundStatus(models.TextChoices):
    """Twilio's message statuses, in the order a message moves through them."""

    PENDING = "pending", "Pending"  # not handed to Twilio yet (or refused before a SID)
    ACCEPTED = "accepted", "Accepted"  # by a Messaging Service
    SCHEDULED = "scheduled", "Scheduled"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"  # handed to the carrier
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    READ = "read", "Read"
    CANCELED = "canceled", "Canceled"


# A status callback never moves a message backwards: only to a status of a higher rank.
OUTBOUND_STATUS_RANK: dict[str, int] = {
    OutboundStatus.PENDING: 0,
    OutboundStatus.ACCEPTED: 1,
    OutboundStatus.SCHEDULED: 1,
    OutboundStatus.QUEUED: 2,
    OutboundStatus.SENDING: 3,
    OutboundStatus.SENT: 4,
    OutboundStatus.DELIVERED: 5,
    OutboundStatus.UNDELIVERED: 5,
    OutboundStatus.FAILED: 5,
    OutboundStatus.CANCELED: 5,
    OutboundStatus.READ: 6,
}
OUTBOUND_FINAL_STATUSES = frozenset(
    {OutboundStatus.DELIVERED, OutboundStatus.UNDELIVERED, OutboundStatus.FAILED, OutboundStatus.CANCELED}
)


class OutboundMessage(models.Model):
    """One text we sent through Twilio (never a TwiML reply, which has no SID), with what its
    status callbacks reported (docs/ARCHITECTURE.md, "Delivery receipts")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="outbound_messages"
    )
    to_number = models.CharField(max_length=32)
    purpose = models.CharField(max_length=16, choices=OutboundPurpose.choices)
    # NULL until Twilio took the request (a refused send has none).
    message_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.PENDING)
    error_code = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)  # Twilio took the request
    status_updated_at = models.DateTimeField(null=True, blank=True)  # last status change
    final_at = models.DateTimeField(null=True, blank=True)  # delivered, undelivered, failed or canceled

    class Meta:
        indexes = [
            # Delivery rates on the performance page and admin: "texts sent since T".
            models.Index(fields=["created_at"], name="sms_outbound_created_idx"),
        ]

    def __str__(self) -> str:
        return self.message_sid or f"outbound #{self.pk}"
