"""Test data builders (plain functions: the model is small enough not to need factory_boy)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone

from sms.models import EnrichmentItem, InboundMessage, ItemKind, ItemSource, MediaAttachment, MessageStatus, PhoneNumber

_seq = itertools.count(1)


def user_create(**fields: Any) -> User:
    n = next(_seq)
    fields.setdefault("username", f"user{n}")
    fields.setdefault("email", f"user{n}@example.com")
    return get_user_model().objects.create_user(password="pw-123456", **fields)


def phone_number_create(
    *, user: User | None = None, number: str | None = None, verified: bool = True, **fields: Any
) -> PhoneNumber:
    n = next(_seq)
    return PhoneNumber.objects.create(
        user=user or user_create(),
        # Another area code than the +1415555xxxx numbers tests spell out, so they never collide.
        number=number or f"+1202{n % 10**7:07d}",
        is_verified=verified,
        verified_at=timezone.now() if verified else None,
        **fields,
    )


def inbound_message_create(**fields: Any) -> InboundMessage:
    n = next(_seq)
    fields.setdefault("message_sid", f"SM{n:032d}")
    fields.setdefault("from_number", "+14155550100")
    fields.setdefault("to_number", "+15005550006")
    return InboundMessage.objects.create(**fields)


def mms_message_create(
    fake_twilio: Any = None,
    *,
    sender: str = "+14155550123",
    body: str = "",
    media: Any = (),
    opted_out: bool = False,
) -> InboundMessage:
    """A stored message from a verified sender, its ``media`` ((bytes, declared type) pairs)
    served by ``fake_twilio`` as Twilio would, ready for the pipeline."""
    phone = phone_number_create(number=sender)
    if opted_out:
        phone.opted_out_at = timezone.now()
        phone.save(update_fields=["opted_out_at"])
    sid = f"MM{InboundMessage.objects.count() + 1:032x}"
    message = inbound_message_create(
        message_sid=sid, user=phone.user, from_number=sender, body=body, num_media=len(media)
    )
    for index, (content, declared) in enumerate(media):
        url = fake_twilio.add_media(content, declared, message_sid=sid)
        MediaAttachment.objects.create(message=message, index=index, url=url, declared_content_type=declared)
    return message


def enrichment_item_create(*, user: User, **fields: Any) -> EnrichmentItem:
    fields.setdefault("kind", ItemKind.NOTE)
    fields.setdefault("value", "Had lunch with Sarah")
    fields.setdefault("source", ItemSource.SMS)
    return EnrichmentItem.objects.create(user=user, **fields)


def relay_until_settled(message: InboundMessage, *, timeout: float = 5.0) -> None:
    """Hand a retried message out again, as the relay does once its backoff is due, until it is
    processed or failed (tasks run eagerly, so each hand-out is one processing attempt)."""
    from sms.relay import outbox_dispatch

    deadline = time.monotonic() + timeout
    while True:
        message.refresh_from_db()
        if message.status in (MessageStatus.PROCESSED, MessageStatus.FAILED):
            return
        assert time.monotonic() < deadline, f"message {message.pk} still {message.status}"
        if message.retry_at is not None:
            time.sleep(max(0.0, (message.retry_at - timezone.now()).total_seconds()))  # the backoff itself
        outbox_dispatch()
