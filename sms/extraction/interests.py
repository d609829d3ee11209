"""Interest tags: a curated map from what people write ("marathon", "ran", "jogging") to one
lower-case interest of one to three words ("running"), plus explicit ``#hashtags``."""

from __future__ import annotations

import re
from functools import cache

HASHTAG = re.compile(r"(?<![\w#&])#(\w[\w-]{0,63})", re.UNICODE)

# interest -> the words and phrases that mention it (matched whole, case-insensitive; a
# trailing * matches any ending: "climb*" is climb, climbs, climbing, climber).
INTERESTS: dict[str, tuple[str, ...]] = {
    "running": ("running", "marathon*", "half marathon", "jogging", "jog", "jogs", "5k", "10k", "ultramarathon"),
    "cycling": ("cycling", "cycles to work", "cycle to work", "bike ride*", "biking", "mountain biking", "cyclist"),
    "swimming": ("swimming", "swim", "swims", "swam"),
    "triathlon": ("triathlon*", "ironman"),
    "hiking": ("hiking", "hike", "hikes", "hiked", "trekking", "hiking trail"),
    "climbing": ("climbing", "rock climbing", "bouldering", "climber*"),
    "camping": ("camping", "campsite", "tent"),
    "yoga": ("yoga", "pilates"),
    "fitness": ("gym", "workout*", "weightlifting", "crossfit", "working out", "personal trainer"),
    "walking": ("walking", "walks", "long walk*"),
    "skiing": ("skiing", "ski trip", "snowboarding", "ski"),
    "surfing": ("surf", "surfing", "surfer*"),
    "skateboarding": ("skateboard*", "skating"),
    "martial arts": ("martial arts",),
    "karate": ("karate",),
    "tennis": ("tennis",),
    "football": ("football",),
    "soccer": ("soccer",),
    "basketball": ("basketball",),
    "cricket": ("cricket",),
    "golf": ("golf", "golfing"),
    "baseball": ("baseball",),
    "fishing": ("fishing", "fly fishing"),
    "cooking": ("cooking", "cook", "cooks", "recipe*", "cooking class"),
    "baking": ("baking", "bake", "bakes", "sourdough", "cupcakes", "bread"),
    "vegetarian": ("vegetarian", "vegan"),
    "wine": ("wine", "wines"),
    "coffee": ("espresso", "latte art", "coffee roasting"),
    "brewing": ("brews", "homebrew*", "brewing", "craft beer"),
    "gardening": ("gardening", "garden", "tomatoes", "plants", "allotment"),
    "reading": ("reading", "book club", "novel*", "books"),
    "writing": ("writing a book", "poetry", "journaling"),
    "music": ("concert*", "band", "gig", "gigs", "festival"),
    "jazz": ("jazz",),
    "guitar": ("guitar*",),
    "piano": ("piano", "pianist"),
    "violin": ("violin*",),
    "singing": ("singing", "choir", "karaoke"),
    "dancing": ("dancing", "salsa", "ballet", "dance class*"),
    "painting": ("painting", "watercolor*", "watercolour*"),
    "drawing": ("drawing", "sketching", "manga"),
    "anime": ("anime",),
    "photography": ("photography", "photographer"),
    "pottery": ("pottery", "ceramics"),
    "knitting": ("knitting", "crochet*", "sewing"),
    "chess": ("chess",),
    "board games": ("board games", "board game"),
    "video games": ("video games", "gaming", "playstation", "xbox"),
    "puzzles": ("puzzle*", "crossword*", "sudoku"),
    "movies": ("movie*", "film", "films", "cinema"),
    "podcasts": ("podcast*",),
    "travel": ("trip to", "travel*", "passport", "backpacking", "holiday abroad"),
    "languages": ("learning japanese", "learning spanish", "learning french", "learning german", "duolingo"),
    "meditation": ("meditation", "meditate*", "mindfulness"),
    "astronomy": ("astronomy", "telescope"),
    "birdwatching": ("birdwatching", "birding"),
    "dogs": ("dog", "dogs", "puppy"),
    "cats": ("cat", "cats", "kitten"),
    "volunteering": ("volunteer*",),
    "theatre": ("theatre", "theater", "musical"),
}


@cache
def _pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    alternatives: list[str] = []
    by_phrase: dict[str, str] = {}
    for interest, phrases in INTERESTS.items():
        for phrase in phrases:
            by_phrase[phrase.rstrip("*")] = interest
            body = r"\s+".join(re.escape(word) for word in phrase.rstrip("*").split())
            alternatives.append(f"(?P<p{len(alternatives)}>{body}{r'[a-z]*' if phrase.endswith('*') else ''})")
    keys = [phrase.rstrip("*") for phrases in INTERESTS.values() for phrase in phrases]
    return re.compile(r"(?<![\w#])(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE), dict(
        (f"p{n}", by_phrase[key]) for n, key in enumerate(keys)
    )


def interests(text: str) -> list[tuple[str, str]]:
    """(interest, the words that named it) in order of first mention, each interest once."""
    pattern, groups = _pattern()
    found: dict[str, str] = {}
    for match in pattern.finditer(text):
        group = match.lastgroup
        assert group is not None
        interest = groups[group]
        found.setdefault(interest, match.group())
    return list(found.items())


def hashtags(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in HASHTAG.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)
