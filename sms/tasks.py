"""Celery tasks of the SMS app.

process_inbound_message belongs to the processing pipeline; until it lands, this placeholder
only loads the stored message (which the intake stored as ``received``) and logs it.
"""

from __future__ import annotations

import logging

from celery import shared_task

from sms.models import InboundMessage

logger = logging.getLogger(__name__)


@shared_task
def process_inbound_message(message_id: int) -> None:
    status = InboundMessage.objects.filter(pk=message_id).values_list("status", flat=True).first()
    if status is None:
        logger.warning("inbound message %s vanished before processing", message_id)
        return
    logger.info("inbound message %s is %s, waiting for the processing pipeline", message_id, status)
