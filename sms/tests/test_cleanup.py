"""Clean-up: stale temp files and stored media past retention (command, task, beat schedule)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from sms.models import MediaAttachment
from sms.tasks import media_cleanup_task
from sms.tests.factories import inbound_message_create

pytestmark = pytest.mark.django_db


def _temp_file(directory, name, age_seconds):
    path = directory / name
    path.write_bytes(b"x")
    old = time.time() - age_seconds
    os.utime(path, (old, old))
    return path


def _stored(days_old):
    message = inbound_message_create(received_at=timezone.now() - timedelta(days=days_old))
    name = default_storage.save(f"sms/test/{message.message_sid}/0.jpg", ContentFile(b"\xff\xd8\xff"))
    return MediaAttachment.objects.create(message=message, index=0, url="https://api.twilio.com/x/ME1", file=name)


def test_cleanup_media_command_removes_stale_temp_files_and_expired_media(media_temp_dir):
    stale = _temp_file(media_temp_dir, "smsgw-media-old", 2 * 3600)
    fresh = _temp_file(media_temp_dir, "smsgw-media-new", 10)
    other = _temp_file(media_temp_dir, "not-ours", 2 * 3600)
    expired, kept = _stored(days_old=31), _stored(days_old=29)
    out = StringIO()

    call_command("cleanup_media", stdout=out)

    assert not stale.exists() and fresh.exists() and other.exists()
    expired.refresh_from_db()
    kept.refresh_from_db()
    assert expired.file.name == "" and kept.file.name != ""
    assert default_storage.exists(kept.file.name)
    assert "removed 1 temp file(s), 1 stored file(s)" in out.getvalue()
    default_storage.delete(kept.file.name)


def test_retention_comes_from_settings(settings, media_temp_dir):
    settings.SMS_MEDIA_RETENTION_DAYS = 5
    attachment = _stored(days_old=6)

    assert media_cleanup_task.delay().get() == {"temp_files": 0, "stored_files": 1}
    attachment.refresh_from_db()
    assert attachment.file.name == ""


def test_cleanup_runs_periodically_under_celery_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sms-cleanup-media"]
    assert entry["task"] == media_cleanup_task.name == "sms.tasks.cleanup_media"
    assert entry["schedule"] == 3600.0
