"""The offline extractor (the default), vCards, cards in images, caps and the extractor setting."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devkit.media_files import vcard_bytes
from sms.extraction import (
    DefaultExtractor,
    ExtractedItem,
    MediaContent,
    MessageContent,
    OfflineExtractor,
    TranscriptContent,
    get_extractor,
    items_cap,
    parse_vcards,
)
from sms.extraction.cards import business_card, image_contacts

FIXTURES = Path(__file__).parent / "fixtures"
VCARDS = FIXTURES / "vcards"
BUSINESS_CARD = FIXTURES / "business_card.jpg"
needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")


def _extract(body: str, **kwargs) -> list[ExtractedItem]:
    return OfflineExtractor().extract(MessageContent(message_id=1, body=body, is_mms=False, **kwargs))


def _values(items: list[ExtractedItem], kind: str) -> list[str]:
    return [i.value for i in items if i.kind == kind]


def _kinds(items):
    return [(i.kind, i.value, i.source) for i in items]


def test_the_default_extractor_is_the_offline_tier():
    assert DefaultExtractor is OfflineExtractor
    assert isinstance(get_extractor(), OfflineExtractor)


def test_the_readme_example_gives_a_note_a_person_a_place_and_a_running_tag():
    items = _extract("Had lunch with Sarah, she's training for the Boston marathon")

    assert _kinds(items) == [
        ("note", "Had lunch with Sarah, she's training for the Boston marathon", "sms"),
        ("person", "Sarah", "sms"),
        ("location", "Boston", "sms"),
        ("tag", "running", "sms"),
    ]
    person, location = items[1], items[2]
    assert person.metadata == {
        "name": "Sarah",
        "context": "Had lunch with Sarah, she's training for the Boston marathon",
    }
    assert location.metadata["country"] == "US"
    assert location.metadata["latitude"] == pytest.approx(42.36, abs=0.05)
    assert location.metadata["longitude"] == pytest.approx(-71.06, abs=0.05)


def test_possessives_pairs_and_relations_are_people():
    items = _extract("Dinner at Sarah's. Then drinks with Priya and Tom; my sister Aiko came too.")

    assert _values(items, "person") == ["Sarah", "Priya", "Tom", "Aiko"]
    aiko = next(i for i in items if i.value == "Aiko")
    assert aiko.metadata["relation"] == "sister"
    assert aiko.metadata["context"] == "Then drinks with Priya and Tom; my sister Aiko came too"


def test_sentence_starts_family_titles_months_and_brands_are_not_people():
    items = _extract("Will you call Mom in May? Grace period ends Monday. Bought a Kindle on Amazon, Netflix later.")

    assert _values(items, "person") == []


def test_a_word_that_is_a_name_is_a_person_with_a_cue():
    assert _values(_extract("Will is coming over to fix the sink"), "person") == ["Will"]
    assert _values(_extract("Saw Grace at the market"), "person") == ["Grace"]


def test_a_first_name_takes_a_surname_and_names_from_many_cultures_are_found():
    items = _extract("Coffee with Linh Nguyen. Oluwaseun is moving. José said yes. Siobhán's dog is sick.")

    assert _values(items, "person") == ["Linh Nguyen", "Oluwaseun", "José", "Siobhán"]


def test_common_words_are_places_only_in_a_locational_context():
    assert _values(_extract("Nice catching up today. Reading a book. Mobile bill is due. Bath time!"), "location") == []
    items = _extract("We spent the weekend in Nice, then drove to Bath")
    assert _values(items, "location") == ["Nice", "Bath"]
    assert [i.metadata["country"] for i in items if i.kind == "location"] == ["FR", "GB"]


def test_countries_states_and_multiword_cities():
    items = _extract("Drove through Ohio to New York, then flew to Japan and on to Mexico City")

    locations = {i.value: i.metadata for i in items if i.kind == "location"}
    assert list(locations) == ["Ohio", "New York City", "Japan", "Mexico City"]
    assert locations["Ohio"] == {
        "place": "Ohio",
        "kind": "state",
        "country": "US",
        "state": "OH",
        "text": "Ohio",
        "context": "Drove through Ohio to New York, then flew to Japan and on to Mexico City",
    }
    assert locations["Japan"]["country"] == "JP"
    assert locations["New York City"]["text"] == "New York"


def test_a_name_that_is_a_place_follows_its_context():
    assert _values(_extract("Georgia and I are doing a pottery class"), "person") == ["Georgia"]
    items = _extract("We're driving to Georgia for Thanksgiving")
    assert (_values(items, "person"), _values(items, "location")) == ([], ["Georgia"])


def test_interests_map_to_one_lower_case_tag_and_hashtags_are_kept():
    items = _extract("Jogging with Ravi, then a yoga class and some rock climbing #Weekend #weekend")

    assert _values(items, "tag") == ["running", "yoga", "climbing", "weekend"]
    assert next(i for i in items if i.value == "weekend").metadata == {"hashtag": True}


def test_dates_are_resolved_relative_to_the_received_time_preferring_the_future():
    received = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday
    items = _extract(
        "Dentist on Friday, party on the 14th, trip in March. Anna's birthday is May 12", received_at=received
    )

    dates = [(i.value, i.metadata["text"]) for i in items if i.kind == "date"]
    assert dates == [
        ("2026-12-04", "Friday"),
        ("2026-12-14", "the 14th"),
        ("2027-03-01", "in March"),
        ("2027-05-12", "May 12"),
    ]


def test_may_and_march_as_words_are_not_dates():
    assert _values(_extract("You may want to march on"), "date") == []


def test_typed_numbers_and_emails_become_contacts_in_the_senders_region():
    items = _extract("Priya's new number is 020 7946 0958, email priya@example.com", region="GB")

    (contact,) = [i for i in items if i.kind == "contact"]
    assert contact.value == "Priya"
    assert contact.metadata == {
        "name": "Priya",
        "phones": ["+442079460958"],
        "emails": ["priya@example.com"],
        "organization": "",
    }


def test_a_number_nobody_owns_is_named_by_itself():
    (contact,) = [i for i in _extract("plumber: (415) 555-0134") if i.kind == "contact"]
    assert (contact.value, contact.metadata["phones"]) == ("+14155550134", ["+14155550134"])


def test_a_transcript_gives_a_voice_note_and_its_entities():
    content = MessageContent(
        message_id=1,
        body="",
        is_mms=True,
        transcripts=[
            TranscriptContent(attachment_id=7, index=0, text="call Dmitri about chess", confidence=0.9, seconds=3.2)
        ],
    )

    items = OfflineExtractor().extract(content)

    assert [(i.kind, i.value, i.source, i.attachment_id) for i in items] == [
        ("note", "call Dmitri about chess", "voice", 7),
        ("person", "Dmitri", "voice", 7),
        ("tag", "chess", "voice", 7),
    ]
    assert items[0].metadata == {"confidence": 0.9, "seconds": 3.2}


def test_vcard_gives_contacts_and_images_give_media(tmp_path: Path, settings):
    settings.SMS_TESSERACT_CMD = ""
    card = tmp_path / "c.vcf"
    card.write_bytes(vcard_bytes() + vcard_bytes(name="Bob Lee", phone="+1 212 555 0100", email="bob@example.com"))
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"not really a jpeg")
    content = MessageContent(
        message_id=1,
        body="",
        is_mms=True,
        media=[
            MediaContent(attachment_id=1, index=0, content_type="text/vcard", path=card),
            MediaContent(attachment_id=2, index=1, content_type="image/jpeg", path=photo, stored_name="sms/1/MM/1.jpg"),
        ],
    )

    items = OfflineExtractor().extract(content)

    assert _kinds(items) == [
        ("contact", "Sarah Connor", "mms"),
        ("contact", "Bob Lee", "mms"),
        ("media", "sms/1/MM/1.jpg", "mms"),
    ]
    assert items[0].metadata["phones"] == ["+1 415 555 0199"]
    assert items[0].metadata["emails"] == ["sarah@example.com"]
    assert items[2].metadata == {"content_type": "image/jpeg", "index": 1}


# vCards ---------------------------------------------------------------------------------


def _card(name: str) -> list[dict]:
    return parse_vcards((VCARDS / name).read_bytes())


def test_ios_3_0_card_in_utf8():
    (contact,) = _card("ios_3.0.vcf")
    assert contact == {
        "name": "Jürgen Müller",
        "phones": ["+49 151 23456789", "+49 30 1234567"],
        "emails": ["juergen@example.de"],
        "organization": "Bäckerei Müller GmbH",
    }


def test_android_2_1_quoted_printable_with_a_soft_line_break_and_two_cards():
    first, second = _card("android_2.1_quoted_printable.vcf")
    assert first["name"] == "Jürgen Müller von der Linde"
    assert first["phones"] == ["+4915123456789", "030 1234567"]
    assert second["name"] == "José Muñoz"


def test_outlook_2_1_in_windows_1252():
    (contact,) = _card("outlook_2.1_windows1252.vcf")
    assert (contact["name"], contact["organization"]) == ("José Muñoz", "Contoso Ibérica S.A.")
    assert contact["emails"] == ["jose.munoz@contoso.example"]


def test_latin1_card_without_a_charset_falls_back_to_windows_1252():
    (contact,) = _card("latin1_no_charset.vcf")
    assert contact["name"] == "José Muñoz"


def test_vcard_4_0_with_a_tel_uri():
    (contact,) = _card("v4.0.vcf")
    assert contact == {
        "name": "Siobhán O'Brien",
        "phones": ["+353-1-555-0199"],
        "emails": ["siobhan@example.ie"],
        "organization": "Dublin Bikes Ltd",
    }


def test_escaped_semicolons_and_commas_stay_in_the_name():
    (contact,) = _card("escaped_separators.vcf")
    assert (contact["name"], contact["organization"]) == ("Anne-Marie Smith; Jones", "Smith, Jones & Partners")


def test_a_broken_card_is_skipped_and_the_rest_of_the_file_kept(caplog):
    with caplog.at_level(logging.INFO, logger="sms.extraction.vcards"):
        contacts = _card("several_with_a_broken_one.vcf")
    assert [c["name"] for c in contacts] == ["Priya Sharma", "Oluwaseun Adeyemi"]
    assert "1 card(s) could not be read" in caplog.text
    assert "no colon" not in caplog.text  # card contents never reach the log


def test_vcard_without_fn_uses_n_and_unfolds_lines():
    data = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;Jane;;;\r\nEMAIL:jane@exa\r\n mple.com\r\nEND:VCARD\r\n"

    (contact,) = parse_vcards(data)

    assert contact["name"] == "Jane Doe"
    assert contact["emails"] == ["jane@example.com"]


def test_parsing_stops_at_the_limit():
    book = b"".join(vcard_bytes(name=f"Person {n}") for n in range(50))
    assert len(parse_vcards(book, limit=3)) == 3


# Caps -----------------------------------------------------------------------------------


def test_items_cap_keeps_contacts_per_attachment_then_items_per_message_notes_first(settings, caplog):
    settings.SMS_MAX_CONTACTS_PER_VCARD = 2
    settings.SMS_MAX_ITEMS_PER_MESSAGE = 4
    items = [ExtractedItem("contact", f"c{n}", "mms", 1) for n in range(5)]
    items += [ExtractedItem("tag", f"t{n}", "sms") for n in range(5)] + [ExtractedItem("note", "hello", "sms")]

    with caplog.at_level(logging.INFO, logger="sms.extraction.base"):
        kept = items_cap(items, message_id=9)

    assert [(i.kind, i.value) for i in kept] == [("note", "hello"), ("contact", "c0"), ("contact", "c1"), ("tag", "t0")]
    assert caplog.messages == ["message 9: 11 items, kept 4 (3 contacts over 2 per attachment dropped)"]


# Cards in images ------------------------------------------------------------------------


@needs_tesseract
def test_a_business_card_photo_becomes_a_contact(settings):
    settings.SMS_TESSERACT_CMD = "tesseract"

    (contact,) = image_contacts(BUSINESS_CARD, region="US")

    assert contact == {
        "name": "Oluwaseun Adeyemi",
        "phones": ["+14155550134", "+12125550187"],
        "emails": ["seun.adeyemi@northwind.example"],
        "organization": "Northwind Traders Inc.",
    }


def test_without_tesseract_ocr_is_skipped_with_one_log_line(settings, caplog):
    settings.SMS_TESSERACT_CMD = "/nonexistent/tesseract-for-this-test"

    with caplog.at_level(logging.WARNING, logger="sms.extraction.cards"):
        assert image_contacts(BUSINESS_CARD, region="US") == []
        assert image_contacts(BUSINESS_CARD, region="US") == []

    assert caplog.messages == [
        "business cards are not read: no tesseract binary at '/nonexistent/tesseract-for-this-test' (SMS_TESSERACT_CMD)"
    ]


def test_card_text_without_a_name_or_a_number_is_no_card():
    assert business_card("SALE 50% OFF\nEverything must go", region="US") is None
    assert business_card("Opening hours\nCall 415 555 0134", region="US") is None


def _qr_image(tmp_path: Path, payload: str) -> Path:
    qrcode = pytest.importorskip("qrcode")
    path = tmp_path / "qr.png"
    qrcode.make(payload).save(path)
    return path


def test_a_qr_code_holding_a_vcard_becomes_a_contact(tmp_path: Path, settings):
    settings.SMS_TESSERACT_CMD = ""
    path = _qr_image(
        tmp_path, "BEGIN:VCARD\nVERSION:3.0\nFN:Mei Chen\nTEL:+14155550100\nEMAIL:mei@example.com\nEND:VCARD\n"
    )

    assert image_contacts(path, region="US") == [
        {"name": "Mei Chen", "phones": ["+14155550100"], "emails": ["mei@example.com"], "organization": ""}
    ]


def test_a_qr_code_holding_a_tel_uri_becomes_a_contact(tmp_path: Path, settings):
    settings.SMS_TESSERACT_CMD = ""
    path = _qr_image(tmp_path, "tel:+442079460958")

    assert image_contacts(path, region="US") == [
        {"name": "+442079460958", "phones": ["+442079460958"], "emails": [], "organization": ""}
    ]


def test_an_image_too_large_to_read_is_skipped(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("sms.extraction.cards.MAX_PIXELS", 100)
    assert image_contacts(BUSINESS_CARD, region="US") == []


def test_extractor_class_comes_from_settings(settings):
    settings.SMS_EXTRACTOR_CLASS = "sms.tests.extractors.UppercaseExtractor"

    items = get_extractor().extract(MessageContent(message_id=1, body="hello", is_mms=False))

    assert _kinds(items) == [("note", "HELLO", "sms")]
