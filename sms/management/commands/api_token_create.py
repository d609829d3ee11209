"""``manage.py api_token_create <username>``: an API token for a user (e.g. a staff account for the
performance API). Printed once; only its hash is stored; it expires like any other token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from smsgateway.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"no user {options['username']!r}") from exc
        self.stdout.write(api_token_create(user=user))
