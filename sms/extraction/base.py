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
a remote model, raise :class:`ExtractionUnavailableError` for errors worth retrying and
:class:`ExtractionError` for those that are not (both with a ``code``). Bodies and transcripts
must never be logged.

:class:`DefaultExtractor` is the offline extractor (``offline.OfflineExtractor``): notes,
people, places, interest tags, dates, typed numbers and emails, vCard, QR and business-card
contacts, media. Whatever the extractor, :func:`items_cap` bounds what one message stores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from sms.exceptions import SmsError

logger = logging.getLogger(__name__)


class ExtractionError(SmsError, code="extraction_failed"):
    """An extractor cannot handle this message, and retrying will not help: it fails for good."""


class ExtractionUnavailableError(ExtractionError, code="extraction_unavailable", is_transient=True):
    """An extractor's outside dependency is down: the message is retried later."""


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
    # When the webhook received it: "tomorrow" in a retried message means the day after this.
    received_at: datetime | None = None
    region: str = ""  # the sender's region (ISO 3166), for numbers typed without a country code


@dataclass(frozen=True)
class ExtractedItem:
    kind: str  # an ItemKind value
    value: str
    source: str  # an ItemSource value
    attachment_id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class Extractor(Protocol):
    def extract(self, content: MessageContent) -> list[ExtractedItem]: ...


@lru_cache(maxsize=8)
def _extractor_class(path: str) -> type:
    cls: type = import_string(path)
    return cls


def get_extractor() -> Extractor:
    """A new instance of the extractor class named in ``SMS_EXTRACTOR_CLASS``."""
    extractor: Extractor = _extractor_class(settings.SMS_EXTRACTOR_CLASS)()
    return extractor


def items_cap(items: list[ExtractedItem], *, message_id: int) -> list[ExtractedItem]:
    """At most ``SMS_MAX_CONTACTS_PER_VCARD`` contacts per attachment (an address book is not a
    business card) and ``SMS_MAX_ITEMS_PER_MESSAGE`` items in all, notes first, the rest in the
    extractor's order. Capping is logged, one line, counts only."""
    per_attachment = settings.SMS_MAX_CONTACTS_PER_VCARD
    contacts: dict[int | None, int] = {}
    kept: list[ExtractedItem] = []
    dropped_contacts = 0
    for item in items:
        if item.kind == "contact" and item.attachment_id is not None:
            contacts[item.attachment_id] = contacts.get(item.attachment_id, 0) + 1
            if contacts[item.attachment_id] > per_attachment:
                dropped_contacts += 1
                continue
        kept.append(item)
    limit = settings.SMS_MAX_ITEMS_PER_MESSAGE
    total = len(kept)
    if total > limit:
        kept = sorted(kept, key=lambda item: item.kind != "note")[:limit]
    if dropped_contacts or total > limit:
        logger.info(
            "message %s: %s items, kept %s (%s contacts over %s per attachment dropped)",
            message_id,
            len(items),
            len(kept),
            dropped_contacts,
            per_attachment,
        )
    return kept
