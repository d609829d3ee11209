"""Sending failed messages back through processing (admin "reprocess" action)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import QuerySet

from sms.models import InboundMessage, MessageStatus

logger = logging.getLogger(__name__)


def inbound_messages_reprocess(*, messages: QuerySet[InboundMessage]) -> int:
    """Put failed messages back in the outbox (``received``, error code cleared); the relay hands
    them to the workers. Messages in any other status are left alone. Returns how many."""
    with transaction.atomic():
        ids = list(
            messages.select_for_update().filter(status=MessageStatus.FAILED).order_by("pk").values_list("pk", flat=True)
        )
        InboundMessage.objects.filter(pk__in=ids).update(
            status=MessageStatus.RECEIVED,
            error_code="",
            processing_started_at=None,
            processed_at=None,
            queued_at=None,
            retry_at=None,
            lease_expires_at=None,
        )
    logger.info("reprocessing %d failed messages", len(ids))
    return len(ids)
