"""``manage.py extraction_eval``: precision and recall of the configured extractor (or
``--extractor``) on the labelled set, its misses with ``-v 2``, and its time per message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.module_loading import import_string

from sms.extraction import get_extractor
from sms.extraction.evaluation import LABELLED_SET, evaluate, labelled_set


class Command(BaseCommand):
    help = "Score the extractor on the labelled set of messages: precision and recall per kind, time per message."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=LABELLED_SET, help="a labelled set (JSON)")
        parser.add_argument("--extractor", default="", help="dotted path of an extractor class (default: settings)")

    def handle(self, *args: Any, **options: Any) -> None:
        extractor = import_string(options["extractor"])() if options["extractor"] else get_extractor()
        report = evaluate(extractor, labelled_set(options["file"]))
        for line in report.lines():
            self.stdout.write(line)
        if options["verbosity"] >= 2:
            for kind, score in (("person", report.people), ("location", report.locations)):
                for miss in score.misses:
                    self.stdout.write(f"missed {kind}: {miss}")
                for wrong in score.false_positives:
                    self.stdout.write(f"wrong {kind}: {wrong}")
