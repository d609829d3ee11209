"""The rules extractor: a note per text, a tag per ``#hashtag``, a contact per vCard entry and a
media item per stored image or video.

:func:`hashtag_tags` and :func:`attachment_items` are also used by other tiers (Gemini), so a
vCard or a stored photo gives the same items whichever extractor runs.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from sms.extraction.base import ExtractedItem, MessageContent
from sms.extraction.vcards import MAX_VCARD_BYTES, parse_vcards
from sms.media_types import IMAGE_TYPES, VCARD_TYPES, VIDEO_TYPES
from sms.models import ItemKind, ItemSource

HASHTAG = re.compile(r"(?<![\w#&])#(\w[\w-]{0,63})", re.UNICODE)


def hashtag_tags(texts: list[tuple[str, str, int | None]]) -> list[ExtractedItem]:
    """A tag per distinct ``#hashtag`` (lowercase) of ``(text, source, attachment_id)`` texts."""
    items: list[ExtractedItem] = []
    seen_tags: set[str] = set()
    for text, source, attachment_id in texts:
        for match in HASHTAG.finditer(text):
            tag = match.group(1).lower()
            if tag not in seen_tags:
                seen_tags.add(tag)
                items.append(ExtractedItem(ItemKind.TAG, tag, source, attachment_id))
    return items


def attachment_items(content: MessageContent) -> list[ExtractedItem]:
    """A contact per vCard entry and a media item per stored image or video."""
    items: list[ExtractedItem] = []
    for media in content.media:
        if media.content_type in VCARD_TYPES and media.path is not None:
            contacts = parse_vcards(media.path.read_bytes()[:MAX_VCARD_BYTES])
            # An address book export is not a business card: at most this many per file.
            for contact in contacts[: settings.SMS_MAX_CONTACTS_PER_VCARD]:
                items.append(
                    ExtractedItem(ItemKind.CONTACT, contact["name"], ItemSource.MMS, media.attachment_id, contact)
                )
        elif media.content_type in IMAGE_TYPES | VIDEO_TYPES and media.stored_name:
            items.append(
                ExtractedItem(
                    ItemKind.MEDIA,
                    media.stored_name,
                    ItemSource.MMS,
                    media.attachment_id,
                    {"content_type": media.content_type, "index": media.index},
                )
            )
    return items


class DefaultExtractor:
    """Deterministic rules: notes, #hashtags, vCard contacts, media references."""

    def extract(self, content: MessageContent) -> list[ExtractedItem]:
        items: list[ExtractedItem] = []
        text_source = ItemSource.MMS if content.is_mms else ItemSource.SMS
        texts: list[tuple[str, str, int | None]] = []
        if content.body.strip():
            texts.append((content.body.strip(), text_source, None))
        for transcript in content.transcripts:
            if transcript.text.strip():
                texts.append((transcript.text.strip(), ItemSource.VOICE, transcript.attachment_id))
        for text, source, attachment_id in texts:
            metadata: dict[str, Any] = {}
            if source == ItemSource.VOICE:
                transcript = next(t for t in content.transcripts if t.attachment_id == attachment_id)
                metadata = {"confidence": transcript.confidence, "seconds": round(transcript.seconds, 2)}
            items.append(ExtractedItem(ItemKind.NOTE, text, source, attachment_id, metadata))
        items += hashtag_tags(texts)
        items += attachment_items(content)
        return items
