"""Items from attachments and hashtags that every extractor gives the same way: a contact per
vCard entry (``vcards``), per QR code or business card in an image (``cards``, when asked), a
media item per stored image or video, and a tag per ``#hashtag``."""

from __future__ import annotations

from django.conf import settings

from sms.extraction.base import ExtractedItem, MessageContent
from sms.extraction.cards import image_contacts
from sms.extraction.interests import hashtags
from sms.extraction.vcards import MAX_VCARD_BYTES, parse_vcards
from sms.models import ItemKind, ItemSource
from sms.processing.media_types import IMAGE_TYPES, VCARD_TYPES, VIDEO_TYPES


def attachment_items(content: MessageContent, *, region: str, read_images: bool) -> list[ExtractedItem]:
    """Contacts from vCards (and, with ``read_images``, from QR codes and business cards in
    images), then a media item per stored image or video."""
    items: list[ExtractedItem] = []
    for media in content.media:
        if media.path is None:
            continue
        contacts = []
        if media.content_type in VCARD_TYPES:
            with media.path.open("rb") as fh:
                contacts = parse_vcards(fh.read(MAX_VCARD_BYTES), limit=settings.SMS_MAX_CONTACTS_PER_VCARD)
        elif read_images and media.content_type in IMAGE_TYPES:
            contacts = image_contacts(media.path, region=region)
        items += [
            ExtractedItem(ItemKind.CONTACT, contact["name"], ItemSource.MMS, media.attachment_id, contact)
            for contact in contacts
        ]
    for media in content.media:
        if media.content_type in IMAGE_TYPES | VIDEO_TYPES and media.stored_name:
            metadata = {"content_type": media.content_type, "index": media.index}
            items.append(
                ExtractedItem(ItemKind.MEDIA, media.stored_name, ItemSource.MMS, media.attachment_id, metadata)
            )
    return items


def hashtag_tags(texts: list[tuple[str, str, int | None]]) -> list[ExtractedItem]:
    """A tag per distinct ``#hashtag`` (lowercase) of ``(text, source, attachment_id)`` texts."""
    items: list[ExtractedItem] = []
    seen: set[str] = set()
    for text, source, attachment_id in texts:
        for tag in hashtags(text):
            if tag not in seen:
                seen.add(tag)
                items.append(ExtractedItem(ItemKind.TAG, tag, source, attachment_id, {"hashtag": True}))
    return items
