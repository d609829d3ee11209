"""Clean-up of media: stale temp files from killed workers, and stored media past retention."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from sms.clients.media import cleanup_temp_files
from sms.models import MediaAttachment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupResult:
    temp_files: int
    stored_files: int


def media_cleanup(*, retention_days: int | None = None, temp_max_age_seconds: int | None = None) -> CleanupResult:
    """Remove temp downloads older than the max age and stored files of messages past retention.

    Stored files are removed through Django's storage API and the attachment's ``file`` is
    cleared; the items that pointed at them stay (their value keeps the old name).
    """
    days = settings.SMS_MEDIA_RETENTION_DAYS if retention_days is None else retention_days
    max_age = settings.SMS_MEDIA_TEMP_MAX_AGE_SECONDS if temp_max_age_seconds is None else temp_max_age_seconds
    temp_removed = cleanup_temp_files(older_than_seconds=max_age, temp_dir=settings.SMS_MEDIA_TEMP_DIR or None)
    cutoff = timezone.now() - timedelta(days=days)
    stored_removed = 0
    expired = MediaAttachment.objects.filter(message__received_at__lt=cutoff).exclude(file="")
    for attachment in expired.iterator(chunk_size=500):
        name = attachment.file.name
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete stored media of attachment %s", attachment.pk, exc_info=True)
            continue
        MediaAttachment.objects.filter(pk=attachment.pk).update(file="")
        stored_removed += 1
    logger.info("media clean-up: %s temp file(s), %s stored file(s) removed", temp_removed, stored_removed)
    return CleanupResult(temp_files=temp_removed, stored_files=stored_removed)
