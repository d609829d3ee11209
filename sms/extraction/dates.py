"""Dates mentioned in a text ("on Friday", "May 12", "next week", "the 14th"), resolved to a
calendar date relative to when the message was received, preferring the future.

``dateparser`` reads each phrase, but only phrases this module's pattern found first: run over a
whole text it is slow (tens of milliseconds) and reads "at 7" or "one" as dates. English only,
so it loads no other language's data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)day"
ORDINAL = r"(?:[12]?\d|3[01])(?:st|nd|rd|th)"
PHRASES = [
    rf"(?:next|this|last)\s+(?:{WEEKDAY}|week(?:end)?|month|year)",
    rf"{MONTH}\s+(?:[12]?\d|3[01])(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?",
    rf"(?:the\s+)?{ORDINAL}\s+of\s+{MONTH}(?:\s+\d{{4}})?",
    rf"(?:[12]?\d|3[01])\s+{MONTH}(?:\s+\d{{4}})?",
    rf"(?:next\s+|in\s+)?{MONTH}(?:\s+\d{{4}})?",
    WEEKDAY,
    r"tomorrow|day after tomorrow|tonight",
    r"in\s+(?:a|an|one|two|three|four|five|six|\d{1,2})\s+(?:days?|weeks?|months?)",
    rf"the\s+{ORDINAL}",
    r"(?:[12]?\d|3[01])/(?:1[0-2]|0?[1-9])/(?:\d{4}|\d{2})|(?:1[0-2]|0?[1-9])/(?:[12]?\d|3[01])",
]
DATE_PHRASE = re.compile(r"(?<![\w/])(?:" + "|".join(PHRASES) + r")(?![\w/])", re.IGNORECASE)
# "May" and "March" are words too: only as a month next to a number or after in/on/by/next/since/until.
BARE_AMBIGUOUS = re.compile(r"^(?:may|march|jan|mar|sat|sun|wed)$", re.IGNORECASE)
MONTH_CONTEXT = re.compile(r"(?:\b(?:in|on|by|until|till|since|next|early|late|mid|this|from)\s+)$", re.IGNORECASE)


@dataclass(frozen=True)
class MentionedDate:
    day: date
    text: str


def _settings(now: datetime) -> dict[str, Any]:
    return {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": False,
        "PREFER_DAY_OF_MONTH": "first",
        "DATE_ORDER": "MDY",
    }


def dates(text: str, *, now: datetime) -> list[MentionedDate]:
    """Dates in ``text``, each once, in order of mention."""
    import dateparser

    found: dict[date, MentionedDate] = {}
    for match in DATE_PHRASE.finditer(text):
        phrase = match.group()
        if BARE_AMBIGUOUS.match(phrase) and not MONTH_CONTEXT.search(text[: match.start()]):
            continue
        # dateparser reads "next June" as nothing and "in June" as a duration: give it the month.
        query = re.sub(rf"^(?:in|next)\s+(?={MONTH}\b)", "", phrase, flags=re.IGNORECASE)
        parsed = dateparser.parse(query, languages=["en"], settings=_settings(now))
        if parsed is None:
            continue
        day = parsed.date()
        if day not in found:
            found[day] = MentionedDate(day, phrase)
    return list(found.values())
