"""``manage.py sms_relay``: the outbox relay (sms/relay.py). Run one or more per deployment."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from sms.relay import Relay


class Command(BaseCommand):
    help = "Hand stored messages to Celery, sweep expired claims and lost hand-overs, drain the intake spool."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="run one pass and exit (scripts, tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        relay = Relay(stop=stop)
        if options["once"]:
            result = relay.run_once()
            self.stdout.write(
                f"dispatched {result.dispatched}, requeued {result.requeued}, drained {result.drained}, "
                f"waiting for the broker {result.waiting}"
            )
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        relay.run_forever()
