"""inbound_message_process_task (eager here; tests/.. with a real worker live in test_processing_worker.py)."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from devkit.media_files import audio_bytes, jpeg_bytes, vcard_bytes
from performance import metrics
from sms.models import EnrichmentItem, InboundMessage, MediaAttachment, MessageStatus
from sms.tasks import inbound_message_process_task
from sms.tests.factories import inbound_message_create, mms_message_create, relay_until_settled

pytestmark = pytest.mark.django_db

SENDER = "+14155550123"


@pytest.fixture
def pipeline(settings, local_media, fake_speech):
    settings.SMS_PROCESSING_RETRY_BACKOFF = 0.01
    settings.SPEECH_RETRY_DEADLINE = 0.5
    return local_media


def _items(message):
    return sorted(EnrichmentItem.objects.filter(message=message).values_list("kind", "value", "source"))


def test_text_message_becomes_note_and_tags_and_is_confirmed(pipeline):
    message = mms_message_create(body="Coffee with Ana, she got the job #work #friends")
    before = metrics.sample_total("smsgw_processing_latency_seconds_count", {"kind": "sms"})

    assert inbound_message_process_task.delay(message.pk).get() == "processed"

    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED
    assert message.attempts == 1
    assert message.processing_started_at is not None and message.processed_at is not None
    assert message.processed_at >= message.processing_started_at >= message.received_at
    assert _items(message) == [
        ("note", "Coffee with Ana, she got the job #work #friends", "sms"),
        ("person", "Ana", "sms"),
        ("tag", "friends", "sms"),
        ("tag", "work", "sms"),
    ]
    assert EnrichmentItem.objects.filter(message=message, status="pending", user=message.user).count() == 4
    assert [(m.to, m.body) for m in pipeline.sent] == [
        (SENDER, "Saved 4 items from your message — review them in the app")
    ]
    assert metrics.sample_total("smsgw_processing_latency_seconds_count", {"kind": "sms"}) == before + 1


def test_mms_with_voice_note_image_and_vcard(pipeline, fake_speech, media_temp_dir):
    fake_speech.transcripts = ["Met Sarah at the gym, she runs Boston in April"]
    message = mms_message_create(
        pipeline,
        media=[
            (audio_bytes("amr", 3), "audio/amr"),
            (jpeg_bytes(), "image/jpeg"),
            (vcard_bytes(), "text/vcard"),
        ],
    )

    inbound_message_process_task.delay(message.pk)

    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED
    stored = list(EnrichmentItem.objects.filter(message=message).order_by("kind"))
    found = [(i.kind, i.metadata["text"] if i.kind == "date" else i.value) for i in stored]
    assert [(kind, value) for kind, value in found if kind in ("person", "location", "tag", "date")] == [
        ("date", "in April"),
        ("location", "Boston"),
        ("person", "Sarah"),
        ("tag", "fitness"),
    ]
    items = [i for i in stored if i.kind in ("contact", "media", "note")]
    assert [(i.kind, i.source) for i in items] == [("contact", "mms"), ("media", "mms"), ("note", "voice")]
    contact, media_item, note = items
    assert note.value == "Met Sarah at the gym, she runs Boston in April"
    assert contact.value == "Sarah Connor" and contact.metadata["phones"] == ["+1 415 555 0199"]
    attachments = list(message.media.order_by("index"))
    assert [a.sniffed_content_type for a in attachments] == ["audio/amr", "image/jpeg", "text/vcard"]
    assert media_item.media == attachments[1] and note.media == attachments[0] and contact.media == attachments[2]
    assert default_storage.exists(media_item.value) and attachments[1].file.name == media_item.value
    assert default_storage.open(media_item.value).read() == jpeg_bytes()
    assert [(c.encoding, c.sample_rate_hertz) for c in fake_speech.calls] == [("AMR", 8000)]
    assert [m.body for m in pipeline.sent] == ["Saved 7 items from your voice note — review them in the app"]
    assert sorted(pipeline.deleted_media) == sorted(
        (message.message_sid, a.url.rsplit("/", 1)[-1]) for a in attachments
    )
    assert list(media_temp_dir.iterdir()) == []
    default_storage.delete(media_item.value)


@pytest.mark.parametrize("kind", ["m4a", "3gp", "mp3", "ogg_opus", "flac", "wav"])
def test_each_voice_format_is_transcribed(pipeline, fake_speech, kind):
    from devkit.media_files import AUDIO_FORMATS

    message = mms_message_create(pipeline, media=[(audio_bytes(kind, 2), AUDIO_FORMATS[kind][3])])

    inbound_message_process_task.delay(message.pk)

    assert _items(message) == [("note", f"transcript 1 of {fake_speech.calls[0].encoding}", "voice")]
    expected = {"ogg_opus": "OGG_OPUS", "flac": "FLAC", "wav": "LINEAR16"}.get(kind, "FLAC")
    assert fake_speech.calls[0].encoding == expected


def test_long_voice_note_is_chunked_and_transcripts_joined(pipeline, fake_speech, settings):
    settings.SPEECH_MAX_CHUNK_SECONDS = 2.0
    fake_speech.transcripts = ["first part", "second part", "third part"]
    message = mms_message_create(pipeline, media=[(audio_bytes("amr", 5.5), "audio/amr")])

    inbound_message_process_task.delay(message.pk)

    assert len(fake_speech.calls) == 3
    assert _items(message) == [("note", "first part second part third part", "voice")]


def test_processed_message_is_skipped_and_never_duplicated(pipeline):
    message = mms_message_create(body="once #only")

    inbound_message_process_task.delay(message.pk)
    assert inbound_message_process_task.delay(message.pk).get() == "skipped"

    assert EnrichmentItem.objects.filter(message=message).count() == 2
    assert len(pipeline.sent) == 1


def test_transient_failure_is_retried_then_succeeds(pipeline, fake_speech):
    # The first download attempt meets a 503 from the media host; the retry gets the media.
    message = mms_message_create(pipeline, media=[(audio_bytes("amr", 1), "audio/amr")])
    pipeline.fail_next(503)

    assert inbound_message_process_task.delay(message.pk).get() == "retry"
    message.refresh_from_db()
    # Back in the outbox, held until the backoff has passed; the relay hands it out again.
    assert (message.status, message.queued_at) == (MessageStatus.RECEIVED, None)
    assert message.retry_at is not None and message.error_code == "media_unavailable"
    relay_until_settled(message)

    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED
    assert message.attempts == 2
    assert message.error_code == ""
    assert EnrichmentItem.objects.filter(message=message, kind="note").count() == 1


def test_transient_failure_gives_up_after_three_retries(pipeline, fake_speech):
    fake_speech.fail_next(503, times=1000)
    message = mms_message_create(pipeline, media=[(audio_bytes("amr", 1), "audio/amr")])

    inbound_message_process_task.delay(message.pk)
    relay_until_settled(message)

    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "speech_unavailable"
    assert message.attempts == 4  # the first try and three retries
    assert EnrichmentItem.objects.filter(message=message).count() == 0
    assert [m.body for m in pipeline.sent] == [
        "Sorry, we had a temporary problem saving that message. Please send it again in a few minutes."
    ]


def test_too_large_fails_at_once(pipeline, settings, media_temp_dir):
    settings.SMS_MEDIA_MAX_BYTES = 100_000
    message = mms_message_create(
        pipeline, media=[(jpeg_bytes(), "image/jpeg"), (b"\xff\xd8\xff" + b"0" * 200_000, "image/jpeg")]
    )

    inbound_message_process_task.delay(message.pk)

    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == ("failed", "media_too_large", 1)
    assert pipeline.sent[0].body.startswith("Sorry, that message was too large")
    assert list(media_temp_dir.iterdir()) == []
    assert not default_storage.exists(f"sms/{message.user_id}/{message.message_sid}/0.jpg")
    assert pipeline.deleted_media == []


@pytest.mark.parametrize(
    ("attachment", "code", "reply"),
    [
        pytest.param(
            (b"%PDF-1.7\n" + b"x" * 100, "application/pdf"),
            "unsupported_type",
            "Sorry, we can't read that kind of attachment",
            id="unsupported_attachment",
        ),
        pytest.param(
            (b"#!AMR\n" + b"\x07" * 50, "audio/amr"),
            "could_not_transcribe",
            "Sorry, we couldn't make out that voice note",
            id="corrupt_voice_note",
        ),
    ],
)
def test_an_unreadable_attachment_fails_at_once_with_its_reply(pipeline, attachment, code, reply):
    message = mms_message_create(pipeline, media=[attachment])

    inbound_message_process_task.delay(message.pk)

    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == ("failed", code, 1)
    assert pipeline.sent[0].body.startswith(reply)


def test_silence_fails_as_could_not_transcribe(pipeline, fake_speech):
    fake_speech.transcripts = [""]
    message = mms_message_create(pipeline, media=[(audio_bytes("amr", 1), "audio/amr")])

    inbound_message_process_task.delay(message.pk)

    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "could_not_transcribe")


def test_hours_of_silence_fail_at_once_without_a_speech_call(pipeline, fake_speech, settings):
    from devkit.media_files import silent_flac_bytes

    message = mms_message_create(pipeline, media=[(silent_flac_bytes(6 * 3600), "audio/flac")])

    inbound_message_process_task.delay(message.pk)

    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == ("failed", "audio_too_long", 1)
    assert fake_speech.server.requests == []
    assert pipeline.sent[0].body == settings.SMS_FAILURE_REPLIES["audio_too_long"]


def test_a_task_that_hits_its_time_limit_fails_for_good(pipeline, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from sms.processing import pipeline as processing

    def too_slow(work):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(processing, "_gather", too_slow)
    message = mms_message_create(pipeline, body="anything")

    inbound_message_process_task.delay(message.pk)

    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts, message.retry_at) == ("failed", "time_limit", 1, None)


def test_the_daily_speech_allowance_stops_a_users_voice_notes(pipeline, fake_speech, settings):
    settings.SMS_SPEECH_SECONDS_PER_USER_PER_DAY = 10
    first = mms_message_create(pipeline, media=[(audio_bytes("amr", 6), "audio/amr")])
    inbound_message_process_task.delay(first.pk)
    calls = len(fake_speech.server.requests)
    sid = "MM" + "f" * 32
    second = inbound_message_create(message_sid=sid, user=first.user, from_number=SENDER, num_media=1)
    url = pipeline.add_media(audio_bytes("amr", 6), "audio/amr", message_sid=sid)
    MediaAttachment.objects.create(message=second, index=0, url=url, declared_content_type="audio/amr")
    inbound_message_process_task.delay(second.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "processed"
    assert (second.status, second.error_code) == ("failed", "speech_budget")
    assert len(fake_speech.server.requests) == calls  # no Speech call for the refused note
    assert pipeline.sent[-1].body == settings.SMS_FAILURE_REPLIES["speech_budget"]


def test_an_address_book_sent_as_one_vcard_gives_at_most_the_contact_cap(pipeline, settings):
    settings.SMS_MAX_CONTACTS_PER_VCARD = 5
    book = b"".join(vcard_bytes(name=f"Person {n}", email=f"p{n}@example.com") for n in range(300))
    message = mms_message_create(pipeline, media=[(book, "text/vcard")])

    inbound_message_process_task.delay(message.pk)

    message.refresh_from_db()
    assert message.status == "processed"
    assert [kind for kind, _, _ in _items(message)].count("contact") == 5


def test_a_256_kb_file_of_minimal_cards_gives_the_contact_cap_not_thousands_of_items(pipeline, settings):
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n"
    book = card * (256 * 1024 // len(card))  # about 6,000 cards
    message = mms_message_create(pipeline, body="my address book", media=[(book, "text/vcard")])

    inbound_message_process_task.delay(message.pk)

    kinds = [kind for kind, _, _ in _items(message)]
    assert kinds.count("contact") == settings.SMS_MAX_CONTACTS_PER_VCARD
    assert len(kinds) <= settings.SMS_MAX_ITEMS_PER_MESSAGE


def test_a_hashtag_flood_is_capped_and_the_note_kept(pipeline, settings):
    settings.SMS_MAX_ITEMS_PER_MESSAGE = 12
    tags = " ".join(f"#tag{n}" for n in range(200))
    message = mms_message_create(pipeline, body=f"notes from the fair {tags}")

    inbound_message_process_task.delay(message.pk)

    kinds = [kind for kind, _, _ in _items(message)]
    assert len(kinds) == 12 and kinds.count("note") == 1


def test_no_reply_to_an_opted_out_number(pipeline):
    message = mms_message_create(body="note to self", opted_out=True)

    inbound_message_process_task.delay(message.pk)

    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED
    assert pipeline.sent == []


def test_confirmation_wording_is_configurable_and_can_be_off(pipeline, settings):
    settings.SMS_CONFIRMATION_TEXT = "Got {count} {items} ({source})"
    inbound_message_process_task.delay(mms_message_create(body="hi #a").pk)
    assert [m.body for m in pipeline.sent] == ["Got 2 items (message)"]

    settings.SMS_CONFIRMATION_ENABLED = False
    InboundMessage.objects.all().delete()
    from sms.models import PhoneNumber

    PhoneNumber.objects.all().delete()
    inbound_message_process_task.delay(mms_message_create(body="again").pk)
    assert len(pipeline.sent) == 1


def test_twilio_media_kept_when_deletion_is_off(pipeline, settings):
    settings.SMS_DELETE_TWILIO_MEDIA = False
    message = mms_message_create(pipeline, media=[(vcard_bytes(), "text/vcard")])

    inbound_message_process_task.delay(message.pk)

    assert _items(message) == [("contact", "Sarah Connor", "mms")]
    assert pipeline.deleted_media == []


def test_missing_message_ends_cleanly(pipeline):
    assert inbound_message_process_task.delay(987654321).get() == "missing"
    assert pipeline.sent == []


def test_message_deleted_while_processing_ends_cleanly(pipeline, settings):
    settings.SMS_EXTRACTOR_CLASS = "sms.tests.extractors.DeletingExtractor"
    message = mms_message_create(body="racing the account deletion")

    assert inbound_message_process_task.delay(message.pk).get() == "missing"

    assert not InboundMessage.objects.filter(pk=message.pk).exists()
    assert EnrichmentItem.objects.count() == 0
    assert pipeline.sent == []


def test_text_plain_mms_parts_are_read_as_text_and_become_part_of_the_note(pipeline):
    message = mms_message_create(
        pipeline,
        body="From the conference",
        media=[(b"Met Priya from Acme, wants the deck #followup\n", "text/plain"), (jpeg_bytes(), "image/jpeg")],
    )
    assert inbound_message_process_task.delay(message.pk).get() == "processed"
    notes = EnrichmentItem.objects.filter(message=message, kind="note").values_list("value", flat=True)
    assert list(notes) == ["From the conference\n\nMet Priya from Acme, wants the deck #followup"]
    assert EnrichmentItem.objects.filter(message=message, kind="tag", value="followup").exists()
    assert MediaAttachment.objects.get(message=message, index=0).sniffed_content_type == "text/plain"


def test_a_text_plain_part_alone_is_the_note(pipeline):
    message = mms_message_create(pipeline, media=[(b"Call Dana about Saturday", "text/plain; charset=utf-8")])
    assert inbound_message_process_task.delay(message.pk).get() == "processed"
    assert [item for item in _items(message) if item[0] != "date"] == [
        ("note", "Call Dana about Saturday", "mms"),
        ("person", "Dana", "mms"),
    ]
    assert [m.body for m in pipeline.sent] == ["Saved 3 items from your message — review them in the app"]


def test_a_text_plain_part_that_is_not_text_is_unsupported(pipeline):
    message = mms_message_create(pipeline, media=[(b"\x00\x01\x02\xff\xfe binary", "text/plain")])
    assert inbound_message_process_task.delay(message.pk).get() == "failed"
    message.refresh_from_db()
    assert message.error_code == "unsupported_type"
