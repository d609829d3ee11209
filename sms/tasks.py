"""Celery tasks of the SMS app.

Placeholder for the processing engineer's task (issue: processing pipeline): the admin's
"reprocess" action enqueues it. The real task replaces this module on merge.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def process_inbound_message(message_id: int) -> None:
    logger.info("process_inbound_message(%s) enqueued; the processing pipeline is not on this branch", message_id)
