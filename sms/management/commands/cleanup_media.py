"""manage.py cleanup_media: remove stale media temp files and stored media past retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sms.services.cleanup import media_cleanup


class Command(BaseCommand):
    help = "Remove stale media temp files and stored media older than the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="retention in days (SMS_MEDIA_RETENTION_DAYS)")
        parser.add_argument(
            "--temp-max-age",
            type=int,
            default=None,
            help="seconds after which a temp download is stale (SMS_MEDIA_TEMP_MAX_AGE_SECONDS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = media_cleanup(retention_days=options["days"], temp_max_age_seconds=options["temp_max_age"])
        self.stdout.write(f"removed {result.temp_files} temp file(s), {result.stored_files} stored file(s)")
