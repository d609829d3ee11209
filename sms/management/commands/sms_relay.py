"""``manage.py sms_relay``: the outbox relay (sms/relay.py). Run one or more per deployment."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
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
        if settings.SMS_WORKER_METRICS_PORT:
            # A relay container has no web server: it serves its own /metrics.
            from performance.exporter import metrics_server_start

            metrics_server_start(port=settings.SMS_WORKER_METRICS_PORT)
        relay.run_forever()
