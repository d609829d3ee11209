"""Precision and recall of an extractor on a labelled set of messages (``manage.py
extraction_eval``; ``sms/tests/test_extraction_quality.py`` holds the targets).

The set is a JSON list of ``{"text", "people", "locations", "tags"}``: the people and places
a reader finds in the text, as written, and the interests it mentions (empty when none). A
person or place counts as found when an item's name (a place's as-written text or its GeoNames
name) equals a labelled one, ignoring case and accents. For interests, a message that mentions
one "has a tag" when the extractor gives it any interest tag, and "has the tag" when one of
them is a labelled interest.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sms.extraction.base import ExtractedItem, Extractor, MessageContent
from sms.extraction.lexicon import fold

LABELLED_SET = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "extraction_labelled.json"


def _share(part: int, whole: int) -> float:
    """``part`` of ``whole``; 1.0 when ``whole`` is 0 (nothing given, nothing to find: nothing wrong)."""
    return part / whole if whole else 1.0


@dataclass
class KindScore:
    true_positives: int = 0
    predicted: int = 0
    labelled: int = 0
    misses: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return _share(self.true_positives, self.predicted)

    @property
    def recall(self) -> float:
        return _share(self.true_positives, self.labelled)


@dataclass
class Report:
    messages: int
    people: KindScore
    locations: KindScore
    interest_messages: int
    with_a_tag: int
    with_the_tag: int
    tags_on_messages_without_interest: int
    seconds: list[float]
    first_call_seconds: float

    @property
    def tag_presence(self) -> float:
        return _share(self.with_a_tag, self.interest_messages)

    @property
    def tag_match(self) -> float:
        return _share(self.with_the_tag, self.interest_messages)

    def lines(self) -> list[str]:
        ms = sorted(s * 1000 for s in self.seconds)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        return [
            f"labelled messages: {self.messages}",
            f"person:   precision {self.people.precision:.3f}  recall {self.people.recall:.3f}  "
            f"({self.people.true_positives} of {self.people.labelled} found, {self.people.predicted} given)",
            f"location: precision {self.locations.precision:.3f}  recall {self.locations.recall:.3f}  "
            f"({self.locations.true_positives} of {self.locations.labelled} found, {self.locations.predicted} given)",
            f"tag:      present on {self.tag_presence:.3f} of messages naming an interest, the labelled one on "
            f"{self.tag_match:.3f} ({self.with_a_tag}/{self.with_the_tag} of {self.interest_messages}); "
            f"{self.tags_on_messages_without_interest} of the others got an interest tag",
            f"time per message: median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms; "
            f"first call (loads the word lists) {self.first_call_seconds * 1000:.0f} ms",
        ]


def labelled_set(path: Path = LABELLED_SET) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def evaluate(
    extractor: Extractor, messages: list[dict[str, Any]], *, clock: Callable[[], float] = time.perf_counter
) -> Report:
    people, locations = KindScore(), KindScore()
    interest_messages = with_a_tag = with_the_tag = others_tagged = 0
    seconds: list[float] = []
    first_call = 0.0
    for n, message in enumerate(messages):
        content = MessageContent(message_id=n + 1, body=message["text"], is_mms=False)
        started = clock()
        items = extractor.extract(content)
        elapsed = clock() - started
        if n == 0:
            first_call = elapsed
        else:
            seconds.append(elapsed)
        _score(people, message["text"], message["people"], [i.value for i in items if i.kind == "person"])
        found_places = [i for i in items if i.kind == "location"]
        _score_places(locations, message["text"], message["locations"], found_places)
        tags = {i.value for i in items if i.kind == "tag" and not i.metadata.get("hashtag")}
        if message["tags"]:
            interest_messages += 1
            with_a_tag += bool(tags)
            with_the_tag += bool(tags & set(message["tags"]))
        elif tags:
            others_tagged += 1
    return Report(
        len(messages),
        people,
        locations,
        interest_messages,
        with_a_tag,
        with_the_tag,
        others_tagged,
        seconds,
        first_call,
    )


def _score(score: KindScore, text: str, labelled: list[str], predicted: list[str]) -> None:
    wanted = {fold(name) for name in labelled}
    given = {fold(name) for name in predicted}
    score.labelled += len(wanted)
    score.predicted += len(given)
    score.true_positives += len(wanted & given)
    score.misses += [f"{name} in {text!r}" for name in sorted(wanted - given)]
    score.false_positives += [f"{name} in {text!r}" for name in sorted(given - wanted)]


def _score_places(score: KindScore, text: str, labelled: list[str], predicted: list[ExtractedItem]) -> None:
    wanted = {fold(name) for name in labelled}
    hits = 0
    wrong: list[str] = []
    for item in predicted:
        names = {fold(item.value), fold(str(item.metadata.get("text", "")))}
        if names & wanted:
            hits += 1
            wanted -= names
        else:
            wrong.append(item.value)
    score.labelled += len(labelled)
    score.predicted += len(predicted)
    score.true_positives += hits
    score.misses += [f"{name} in {text!r}" for name in sorted(wanted)]
    score.false_positives += [f"{name} in {text!r}" for name in wrong]
