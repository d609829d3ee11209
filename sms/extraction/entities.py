"""People and places named in a text, found together because one word can be either.

Rules, not a model: a capitalised word is a person when it is a known first name (or has a
person's cue: "my sister Aiko", "with Tariq", "Ngozi's son", "Kwame got…") and a place when it
is in GeoNames. The words that are also ordinary English ("Will", "Grace", "Nice", "Reading",
"Bath") need context: a place after a locational preposition ("in Nice"), a person with a cue
("Will is coming"). Sentence starts, months, weekdays, holidays, family titles ("Mom"),
nationalities and brands are not people. A first name followed by a capitalised word that is
no place and no English word takes it as a surname ("Linh Nguyen").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sms.extraction.lexicon import Place, english_words, first_names, fold, places

WORD = re.compile(r"[^\W\d_]+(?:[-'\u2019][^\W\d_]+)*", re.UNICODE)
SENTENCE_END = re.compile(r"[.!?;:\n]+|\s[-\u2013\u2014]\s|\(|\)")
POSSESSIVE = re.compile(r"['\u2019]s$", re.IGNORECASE)
# Emails and links are no sentences: their words are blanked out before names are looked for.
ADDRESS = re.compile(r"\S+@\S+|\b(?:https?://|www\.)\S+", re.IGNORECASE)

LOCATIONAL = frozenset(
    "in to from at near around visiting visit visited via through across toward towards outside inside "
    "into leaving left reach reached reaching flew fly flying drove drive driving moved moving "
    "back".split()
)
# Words before a name that make it a person: "with Priya", "my sister Aiko", "ask Ifeoma".
PERSON_BEFORE = frozenset(
    "with and & met meet meeting ask asked call called calling text texted texting tell told saw see seeing "
    "visit visited helped help thank thanked email emailed invite invited named hug hugged".split()
)
RELATIONS = frozenset(
    "sister brother friend cousin aunt auntie aunty uncle colleague coworker co-worker boss neighbour neighbor "
    "son daughter wife husband partner girlfriend boyfriend nephew niece grandson granddaughter mate "
    "roommate flatmate housemate teacher doctor dr mr mrs ms miss coach fiancé fiancée fiance fiancee "
    "godmother godfather goddaughter godson stepson stepdaughter stepmom stepdad mentor manager client "
    "therapist dentist landlord landlady classmate bestie sis bro".split()
)
# Words after a name that make it a person: "Will is coming", "Kwame got promoted".
PERSON_AFTER = frozenset(
    "is was has had and said says just will would can could wants wanted loves loved likes liked got gets "
    "thinks thought called texted told asked recommended recommends invited sent started starts plays played "
    "lent gave gives took takes made makes lives lived works worked went goes came comes left moved needs "
    "needed bought found sounds seems looks looked feels felt knows knew mentioned emailed taught teaches "
    "cycles runs ran coaches brews swims and i'm i\u2019m i'll i\u2019ll".split()
)
CALENDAR = frozenset(
    fold(w)
    for w in (
        "January February March April May June July August September October November December "
        "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec "
        "Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mon Tue Tues Wed Thu Thurs Fri Sat Sun"
    ).split()
)
NOT_PEOPLE = CALENDAR | frozenset(
    fold(w)
    for w in (
        "Christmas Xmas Easter Thanksgiving Halloween Ramadan Eid Diwali Hanukkah Passover Lent Advent "
        "Mom Mum Mommy Mummy Mama Momma Dad Daddy Papa Pop Grandma Grandpa Granny Gran Grandad Grandpa Nana "
        "Nan Gramps Grandmother Grandfather Auntie Aunt Uncle Sis Bro Baby Babe Honey Hun Sir Madam "
        "God Jesus Allah Lord "
        "American English British French Spanish Japanese Chinese Thai Indian Italian Mexican Korean "
        "Vietnamese German Roman Greek Irish Scottish Welsh Dutch Swedish Norwegian Danish Finnish Russian "
        "Polish Turkish Arabic Persian African Asian European Canadian Australian Brazilian Portuguese "
        "Nigerian Kenyan Filipino Indonesian Malaysian Egyptian Moroccan Lebanese Israeli Jewish Muslim "
        "Christian Catholic Hindu Buddhist Latin Cuban Peruvian Colombian Argentinian Chilean Ukrainian "
        "Google Apple Amazon Netflix Uber Lyft Starbucks Costco Target Walmart Zoom Slack Spotify Instagram "
        "Facebook WhatsApp Tesla Toyota Honda Ikea Airbnb Tinder Venmo Paypal Disney Nike Adidas Lego "
        "Peloton Strava Fitbit iPhone Android Samsung Microsoft Excel Gmail Linkedin Twitter TikTok "
        "Reminder Note Notes Todo Today Tonight Tomorrow Yesterday Happy Merry Thanks Hi Hey Hello Ok Okay "
        "Lol Omg Btw Fyi Asap Re Ps Dr Mr Mrs Ms I"
    ).split()
)


TITLES = frozenset("mr mrs ms dr prof st".split())


@dataclass(frozen=True)
class Person:
    name: str
    context: str
    relation: str = ""


@dataclass(frozen=True)
class Location:
    place: Place
    text: str
    context: str


@dataclass(frozen=True)
class _Token:
    text: str  # without a possessive 's
    start: int
    end: int
    is_start: bool  # the first word of a sentence or clause
    is_possessive: bool

    @property
    def key(self) -> str:
        return fold(self.text)

    @property
    def is_capitalised(self) -> bool:
        return self.text[:1].isupper() and not (len(self.text) > 1 and self.text.isupper() and len(self.text) > 3)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    last_end = 0
    for match in WORD.finditer(text):
        gap = text[last_end : match.start()]
        is_start = not tokens or bool(SENTENCE_END.search(gap))
        if is_start and tokens and gap.strip() == "." and tokens[-1].key in TITLES:
            is_start = False  # "Mrs. Okafor"
        word = match.group()
        is_possessive = bool(POSSESSIVE.search(word)) and len(word) > 3
        if is_possessive:
            word = word[:-2]
        tokens.append(_Token(word, match.start(), match.end(), is_start, is_possessive))
        last_end = match.end()
    return tokens


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence around ``text[start:end]`` (the context stored with a person)."""
    left = max((m.end() for m in re.finditer(r"[.!?]+\s+|\n", text[:start])), default=0)
    right_match = re.search(r"[.!?](?=\s|$)|\n", text[end:])
    right = end + right_match.start() if right_match else len(text)
    sentence = text[left:right].strip()
    return sentence if len(sentence) <= 200 else sentence[:197].rstrip() + "…"


def people_and_places(text: str) -> tuple[list[Person], list[Location]]:
    tokens = _tokens(ADDRESS.sub(lambda m: " " * len(m.group()), text))
    names = first_names()
    words = english_words()
    index = places()
    people: dict[str, Person] = {}
    locations: dict[str, Location] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.is_capitalised:
            i += 1
            continue
        previous = tokens[i - 1].key if i > 0 and not token.is_start else ""
        after = tokens[i + 1].key if i + 1 < len(tokens) and not tokens[i + 1].is_start else ""
        after_two = f"{after} {tokens[i + 2].key}" if after and i + 2 < len(tokens) else after
        is_locational = previous in LOCATIONAL
        place, width = _place_at(tokens, i, index) if token.key not in CALENDAR else (None, 0)
        is_name = token.key in names and token.key not in NOT_PEOPLE
        is_word = token.key in words
        strong_cue = (
            previous in PERSON_BEFORE
            or previous in RELATIONS
            or after_two == "and i"
            or (token.is_possessive and (place is None or (is_name and place.kind == "city")))
            or (is_name and _is_surname(tokens, i + 1, words, index) and not (is_word and _is_name_word(tokens, i + 1)))
        )
        # "Sydney was amazing": a verb after a big place's name does not make it a person.
        is_big_place = place is not None and (place.kind != "city" or place.population >= 300_000)
        has_cue = strong_cue or (after in PERSON_AFTER and not is_big_place)
        if place is not None and width > 1:
            _add_location(locations, place, text, tokens, i, width)
            i += width
            continue
        if place is not None and not (is_name and has_cue):
            # "in Nice" is a place; "Nice catching up" is not; "Georgia and I" is a person.
            if is_locational or not is_word:
                _add_location(locations, place, text, tokens, i, 1)
                i += 1
                continue
        if token.key in NOT_PEOPLE or len(token.text) < 2:
            i += 1
            continue
        if is_name:
            # An English word at a sentence start ("Will you…", "Grace period…") needs a cue.
            is_person = has_cue if is_word and token.is_start else True
        else:
            is_person = not is_word and (
                previous in PERSON_BEFORE
                or previous in RELATIONS
                or token.is_possessive
                or (token.is_start and after in PERSON_AFTER)
            )
        if not is_person:
            i += 1
            continue
        width = 1
        if (
            not token.is_possessive
            and _is_surname(tokens, i + 1, words, index)
            and not (is_word and token.is_start and _is_name_word(tokens, i + 1))
        ):
            width = 2
        name = " ".join(t.text for t in tokens[i : i + width])
        relation = previous if previous in RELATIONS else ""
        if fold(name) not in people:
            people[fold(name)] = Person(name, _sentence(text, token.start, tokens[i + width - 1].end), relation)
        i += width
    return list(people.values()), list(locations.values())


def _is_name_word(tokens: list[_Token], i: int) -> bool:
    """Whether ``tokens[i]`` is a first name that is no English word ("Tell Connor")."""
    return i < len(tokens) and tokens[i].key in first_names() and tokens[i].key not in english_words()


def _is_surname(tokens: list[_Token], i: int, words: frozenset[str], index: dict[str, Place]) -> bool:
    """Whether ``tokens[i]`` reads as the surname of the name before it ("Linh Nguyen")."""
    if i >= len(tokens):
        return False
    token = tokens[i]
    if not token.is_capitalised or token.is_start or token.key in words or token.key in NOT_PEOPLE:
        return False
    place = index.get(token.key)
    # A small town named Garcia does not make "Maria Garcia" a place; a country or a big city does.
    return place is None or (place.kind == "city" and place.population < 1_000_000)


def _place_at(tokens: list[_Token], i: int, index: dict[str, Place]) -> tuple[Place | None, int]:
    """The longest place (up to three words, all capitalised, one sentence) starting at ``i``."""
    for width in (3, 2, 1):
        span = tokens[i : i + width]
        if len(span) < width or any(t.is_start for t in span[1:]) or not all(t.is_capitalised for t in span):
            continue
        if any(t.is_possessive for t in span[:-1]):
            continue
        place = index.get(" ".join(t.key for t in span))
        if place is not None:
            return place, width
    return None, 0


def _add_location(
    locations: dict[str, Location], place: Place, text: str, tokens: list[_Token], i: int, width: int
) -> None:
    key = f"{place.kind}:{place.name}:{place.country}"
    if key not in locations:
        written = text[tokens[i].start : tokens[i + width - 1].end]
        written = POSSESSIVE.sub("", written)
        locations[key] = Location(place, written, _sentence(text, tokens[i].start, tokens[i + width - 1].end))
