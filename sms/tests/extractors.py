"""Extractors used by tests of the pluggable SMS_EXTRACTOR_CLASS setting."""

from __future__ import annotations

from sms.extraction import ExtractedItem, MessageContent
from sms.models import InboundMessage, ItemKind, ItemSource


class UppercaseExtractor:
    def extract(self, content: MessageContent) -> list[ExtractedItem]:
        return [ExtractedItem(ItemKind.NOTE, content.body.upper(), ItemSource.SMS)]


class DeletingExtractor:
    """Deletes the message while it is being processed (account deletion racing the worker)."""

    def extract(self, content: MessageContent) -> list[ExtractedItem]:
        InboundMessage.objects.filter(pk=content.message_id).delete()
        return [ExtractedItem(ItemKind.NOTE, content.body, ItemSource.SMS)]
