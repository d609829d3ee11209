"""The default extractor and the pluggable extractor setting."""

from __future__ import annotations

from pathlib import Path

from devkit.media_files import vcard_bytes
from sms.extraction import (
    DefaultExtractor,
    MediaContent,
    MessageContent,
    TranscriptContent,
    get_extractor,
    parse_vcards,
)


def _kinds(items):
    return [(i.kind, i.value, i.source) for i in items]


def test_text_gives_a_note_and_distinct_hashtags():
    content = MessageContent(message_id=1, body="Lunch with Sarah #Marathon #boston #marathon", is_mms=False)

    items = DefaultExtractor().extract(content)

    assert _kinds(items) == [
        ("note", "Lunch with Sarah #Marathon #boston #marathon", "sms"),
        ("tag", "marathon", "sms"),
        ("tag", "boston", "sms"),
    ]


def test_transcript_gives_a_voice_note_with_confidence():
    content = MessageContent(
        message_id=1,
        body="",
        is_mms=True,
        transcripts=[TranscriptContent(attachment_id=7, index=0, text="call mom", confidence=0.9, seconds=3.2)],
    )

    (item,) = DefaultExtractor().extract(content)

    assert (item.kind, item.value, item.source, item.attachment_id) == ("note", "call mom", "voice", 7)
    assert item.metadata == {"confidence": 0.9, "seconds": 3.2}


def test_vcard_gives_contacts_and_images_give_media(tmp_path: Path):
    card = tmp_path / "c.vcf"
    card.write_bytes(vcard_bytes() + vcard_bytes(name="Bob Lee", phone="+1 212 555 0100", email="bob@example.com"))
    content = MessageContent(
        message_id=1,
        body="",
        is_mms=True,
        media=[
            MediaContent(attachment_id=1, index=0, content_type="text/vcard", path=card),
            MediaContent(attachment_id=2, index=1, content_type="image/jpeg", path=None, stored_name="sms/1/MM/1.jpg"),
        ],
    )

    items = DefaultExtractor().extract(content)

    assert _kinds(items) == [
        ("contact", "Sarah Connor", "mms"),
        ("contact", "Bob Lee", "mms"),
        ("media", "sms/1/MM/1.jpg", "mms"),
    ]
    assert items[0].metadata["phones"] == ["+1 415 555 0199"]
    assert items[0].metadata["emails"] == ["sarah@example.com"]
    assert items[2].metadata == {"content_type": "image/jpeg", "index": 1}


def test_vcard_without_fn_uses_n_and_unfolds_lines():
    data = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;Jane;;;\r\nEMAIL:jane@exa\r\n mple.com\r\nEND:VCARD\r\n"

    (contact,) = parse_vcards(data)

    assert contact["name"] == "Jane Doe"
    assert contact["emails"] == ["jane@example.com"]


def test_extractor_class_comes_from_settings(settings):
    settings.SMS_EXTRACTOR_CLASS = "sms.tests.extractors.UppercaseExtractor"

    items = get_extractor().extract(MessageContent(message_id=1, body="hello", is_mms=False))

    assert _kinds(items) == [("note", "HELLO", "sms")]
