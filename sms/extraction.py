"""Extraction: from a message's text, transcripts and media to enrichment items.

The extractor is a class named in ``SMS_EXTRACTOR_CLASS`` (default :class:`DefaultExtractor`).
To replace it (say, with an AI model), write a class with a no-argument constructor and one
method::

    class MyExtractor:
        def extract(self, content: MessageContent) -> list[ExtractedItem]: ...

It receives plain data — never model instances — and returns plain items; the pipeline stores
them in one ``bulk_create`` as ``pending`` for the owner to review, so an extractor cannot
change anything by itself. It must be deterministic enough to retry (a retried message calls
it again from scratch) and should not do I/O besides reading the files it is given; if it calls
a remote model, raise :class:`ExtractionUnavailableError` for errors worth retrying. Bodies and
transcripts must never be logged.

:class:`DefaultExtractor` yields a note per text (body, each transcript), a tag per distinct
``#hashtag``, a contact per vCard entry (name, phones, emails), and a media item per image or
video pointing at its stored file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from sms.media_types import IMAGE_TYPES, VCARD_TYPES, VIDEO_TYPES
from sms.models import ItemKind, ItemSource

HASHTAG = re.compile(r"(?<![\w#&])#(\w[\w-]{0,63})", re.UNICODE)
MAX_VCARD_BYTES = 256 * 1024


class ExtractionUnavailableError(Exception):
    """An extractor's outside dependency is down: the message is retried later."""

    code = "extraction_unavailable"
    is_transient = True


@dataclass(frozen=True)
class MediaContent:
    """One downloaded attachment."""

    attachment_id: int
    index: int
    content_type: str  # sniffed from the bytes
    path: Path | None  # the downloaded temp file (None once removed)
    stored_name: str = ""  # where images/videos were saved through Django's storage


@dataclass(frozen=True)
class TranscriptContent:
    attachment_id: int
    index: int
    text: str
    confidence: float | None
    seconds: float


@dataclass(frozen=True)
class MessageContent:
    message_id: int
    body: str
    is_mms: bool
    media: list[MediaContent] = field(default_factory=list)
    transcripts: list[TranscriptContent] = field(default_factory=list)


@dataclass(frozen=True)
class ExtractedItem:
    kind: str  # an ItemKind value
    value: str
    source: str  # an ItemSource value
    attachment_id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class Extractor(Protocol):
    def extract(self, content: MessageContent) -> list[ExtractedItem]: ...


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
        seen_tags: set[str] = set()
        for text, source, attachment_id in texts:
            for match in HASHTAG.finditer(text):
                tag = match.group(1).lower()
                if tag not in seen_tags:
                    seen_tags.add(tag)
                    items.append(ExtractedItem(ItemKind.TAG, tag, source, attachment_id))
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


def parse_vcards(data: bytes) -> list[dict[str, Any]]:
    """Contacts (name, phones, emails) of every vCard in ``data`` (versions 2.1, 3.0, 4.0)."""
    text = data.decode("utf-8", errors="replace")
    # Unfold continuation lines (RFC 6350 §3.2).
    text = re.sub(r"\r?\n[ \t]", "", text)
    contacts: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, _, value = line.partition(":")
        prop = name.split(";", 1)[0].split(".")[-1].upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            current = {"name": "", "phones": [], "emails": [], "organization": ""}
        elif prop == "END" and value.strip().upper() == "VCARD" and current is not None:
            if not current["name"]:
                current["name"] = current.pop("_n", "") or (current["emails"] or current["phones"] or [""])[0]
            current.pop("_n", None)
            if current["name"]:
                contacts.append(current)
            current = None
        elif current is None:
            continue
        elif prop == "FN":
            current["name"] = _unescape(value)
        elif prop == "N":
            parts = [_unescape(p) for p in value.split(";")]
            current["_n"] = " ".join(p for p in (parts[1:2] + parts[0:1]) if p)
        elif prop == "TEL":
            phone = value.removeprefix("tel:").strip()
            if phone:
                current["phones"].append(phone)
        elif prop == "EMAIL":
            if value.strip():
                current["emails"].append(value.strip())
        elif prop == "ORG":
            current["organization"] = _unescape(value.split(";")[0])
    return contacts


def _unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\;", ";").replace("\\n", " ").replace("\\\\", "\\").strip()


@lru_cache(maxsize=8)
def _extractor_class(path: str) -> type:
    cls: type = import_string(path)
    return cls


def get_extractor() -> Extractor:
    """A new instance of the extractor class named in ``SMS_EXTRACTOR_CLASS``."""
    extractor: Extractor = _extractor_class(settings.SMS_EXTRACTOR_CLASS)()
    return extractor
