"""The offline extractor against the labelled set: the targets it must keep."""

from __future__ import annotations

from sms.extraction import OfflineExtractor
from sms.extraction.evaluation import evaluate, labelled_set


def test_the_labelled_set_is_big_enough_and_varied():
    messages = labelled_set()
    assert len(messages) >= 100
    assert sum(1 for m in messages if not m["people"]) >= 25  # messages that name nobody


def test_people_places_and_interests_meet_their_targets():
    report = evaluate(OfflineExtractor(), labelled_set())
    figures = "\n".join(report.lines())

    assert report.people.recall >= 0.8 and report.people.precision >= 0.85, figures
    assert report.locations.recall >= 0.8 and report.locations.precision >= 0.85, figures
    assert report.tag_presence >= 0.7, figures
