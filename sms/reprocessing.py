"""Sending failed messages back through processing (admin "reprocess" action)."""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.db.models import QuerySet

from sms.models import InboundMessage, MessageStatus

logger = logging.getLogger(__name__)


def inbound_messages_reprocess(*, messages: QuerySet[InboundMessage]) -> int:
    """Reset failed messages to ``received`` (error code cleared) and enqueue each after
    commit. Messages in any other status are left alone. Returns how many were enqueued."""
    from sms.tasks import process_inbound_message

    with transaction.atomic():
        ids = list(
            messages.select_for_update().filter(status=MessageStatus.FAILED).order_by("pk").values_list("pk", flat=True)
        )
        InboundMessage.objects.filter(pk__in=ids).update(
            status=MessageStatus.RECEIVED, error_code="", processing_started_at=None, processed_at=None
        )
        for message_id in ids:
            transaction.on_commit(partial(process_inbound_message.delay, message_id))
    logger.info("reprocessing %d failed messages", len(ids))
    return len(ids)
