"""Extraction: from a message's text, transcripts and media to enrichment items.

``base`` holds the plain data an extractor receives and returns, :func:`get_extractor` and
:func:`items_cap`; ``offline`` the default extractor, built from ``entities`` (people and
places), ``interests``, ``dates`` and ``lexicon`` (the word lists they read); ``vcards`` the
vCard parser and ``cards`` QR codes and business cards in images, for any extractor to use.
See ``base`` for how to write an extractor of your own.
"""

from sms.extraction.base import (
    ExtractedItem,
    ExtractionError,
    ExtractionUnavailableError,
    Extractor,
    MediaContent,
    MessageContent,
    TranscriptContent,
    get_extractor,
    items_cap,
)
from sms.extraction.offline import OfflineExtractor
from sms.extraction.vcards import parse_vcards

# What SMS_EXTRACTOR_CLASS names by default.
DefaultExtractor = OfflineExtractor

__all__ = [
    "DefaultExtractor",
    "ExtractedItem",
    "ExtractionError",
    "ExtractionUnavailableError",
    "Extractor",
    "MediaContent",
    "MessageContent",
    "OfflineExtractor",
    "TranscriptContent",
    "get_extractor",
    "items_cap",
    "parse_vcards",
]
