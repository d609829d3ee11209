"""Extraction: from a message's text, transcripts and media to enrichment items.

``base`` holds the plain data an extractor receives and returns and :func:`get_extractor`;
``rules`` the deterministic default extractor; ``vcards`` the vCard parser. See ``base`` for
how to write an extractor of your own.
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
)
from sms.extraction.rules import DefaultExtractor
from sms.extraction.vcards import parse_vcards

__all__ = [
    "DefaultExtractor",
    "ExtractedItem",
    "ExtractionError",
    "ExtractionUnavailableError",
    "Extractor",
    "MediaContent",
    "MessageContent",
    "TranscriptContent",
    "get_extractor",
    "parse_vcards",
]
