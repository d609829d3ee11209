"""The offline extractor: everything found without sending the message anywhere.

Per text (the body, each transcript): a note; a person per name (``entities``), a location per
place (GeoNames), a tag per interest (``interests``) and per ``#hashtag``, a date per date
phrase (``dates``), and a contact per phone number (``phonenumbers``, in the sender's region)
or email address typed in it. Per attachment: a contact per vCard entry (``vcards``), per QR
code holding a vCard or ``tel:`` and per business card read by OCR (``cards``), and a media
item per stored image or video. The caps on items apply afterwards, in ``base.items_cap``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import phonenumbers
from django.conf import settings
from django.utils import timezone

from sms.extraction.attachments import attachment_items
from sms.extraction.base import ExtractedItem, MessageContent
from sms.extraction.dates import dates
from sms.extraction.entities import Person, people_and_places
from sms.extraction.interests import hashtags, interests
from sms.models import ItemKind, ItemSource

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")


class OfflineExtractor:
    """People, places, interests, dates, typed numbers and emails, vCards, QR codes and business
    cards, with no outside service."""

    def extract(self, content: MessageContent) -> list[ExtractedItem]:
        items: list[ExtractedItem] = []
        texts = _texts(content)
        for text, source, attachment_id, metadata in texts:
            items.append(ExtractedItem(ItemKind.NOTE, text, source, attachment_id, metadata))
        now = content.received_at or timezone.now()
        region = content.region or settings.SMS_DEFAULT_REGION
        seen: set[tuple[str, str]] = set()

        def add(kind: str, value: str, source: str, attachment_id: int | None, metadata: dict[str, Any]) -> None:
            key = (kind, value.casefold())
            if value and key not in seen:
                seen.add(key)
                items.append(ExtractedItem(kind, value, source, attachment_id, metadata))

        for text, source, attachment_id, _ in texts:
            people, locations = people_and_places(text)
            for person in people:
                metadata = {"name": person.name, "context": person.context}
                if person.relation:
                    metadata["relation"] = person.relation
                add(ItemKind.PERSON, person.name, source, attachment_id, metadata)
            for location in locations:
                add(
                    ItemKind.LOCATION,
                    location.place.name,
                    source,
                    attachment_id,
                    {**location.place.metadata(), "text": location.text, "context": location.context},
                )
            for interest, matched in interests(text):
                add(ItemKind.TAG, interest, source, attachment_id, {"matched": matched})
            for tag in hashtags(text):
                add(ItemKind.TAG, tag, source, attachment_id, {"hashtag": True})
            for mentioned in dates(text, now=timezone.localtime(now)):
                iso = mentioned.day.isoformat()
                add(ItemKind.DATE, iso, source, attachment_id, {"date": iso, "text": mentioned.text})
            for contact in _typed_contacts(text, region=region, people=people):
                add(ItemKind.CONTACT, contact["name"], source, attachment_id, contact)
        items += attachment_items(content, region=region, read_images=True)
        return items


def _texts(content: MessageContent) -> list[tuple[str, str, int | None, dict[str, Any]]]:
    """(text, source, attachment id, note metadata): the body, then each transcript."""
    texts: list[tuple[str, str, int | None, dict[str, Any]]] = []
    if content.body.strip():
        texts.append((content.body.strip(), ItemSource.MMS if content.is_mms else ItemSource.SMS, None, {}))
    for transcript in content.transcripts:
        if transcript.text.strip():
            metadata = {"confidence": transcript.confidence, "seconds": round(transcript.seconds, 2)}
            texts.append((transcript.text.strip(), ItemSource.VOICE, transcript.attachment_id, metadata))
    return texts


def _typed_contacts(text: str, *, region: str, people: list[Person]) -> list[dict[str, Any]]:
    """A contact per phone number and per email typed in ``text``; one named after the person
    their sentence names, if one does ("Priya's new number is 415 555 0134, priya@…")."""
    by_owner: dict[str, dict[str, Any]] = {}
    contacts: list[dict[str, Any]] = []

    def contact_for(owner: str, fallback: str) -> dict[str, Any]:
        if owner and owner in by_owner:
            return by_owner[owner]
        contact: dict[str, Any] = {"name": owner or fallback, "phones": [], "emails": [], "organization": ""}
        contacts.append(contact)
        if owner:
            by_owner[owner] = contact
        return contact

    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        contact = contact_for(_owner(text, match.start, people), e164)
        if e164 not in contact["phones"]:
            contact["phones"].append(e164)
    for found in EMAIL.finditer(text):
        contact = contact_for(_owner(text, found.start(), people), found.group())
        if found.group() not in contact["emails"]:
            contact["emails"].append(found.group())
    return contacts


def _owner(text: str, position: int, people: list[Person]) -> str:
    for person in people:
        if person.context and person.context in text:
            start = text.index(person.context)
            if start <= position <= start + len(person.context):
                return person.name
    return ""
