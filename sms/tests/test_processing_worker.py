"""The pipeline on a real Celery worker process and the real Redis broker."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from devkit.media_files import audio_bytes, jpeg_bytes, vcard_bytes
from devkit.payloads import load_payload, with_new_sid
from sms.models import EnrichmentItem, InboundMessage, MessageStatus
from sms.tests.factories import phone_number_create
from sms.tests.webhook_client import post_webhook
from tests.worker import CeleryWorker, RelayProcess

BUSINESS_CARD = Path(__file__).parent / "fixtures" / "business_card.jpg"

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _worker_env(fake_twilio, fake_speech, media_temp_dir, **extra: str) -> dict[str, str]:
    env = {
        "TWILIO_API_BASE_URL": fake_twilio.url,
        "SPEECH_API_ENDPOINT": fake_speech.url,
        "SMS_MEDIA_ALLOWED_HOSTS": "127.0.0.1",
        "SMS_MEDIA_ALLOW_PRIVATE_IPS": "true",
        "SMS_MEDIA_TEMP_DIR": str(media_temp_dir),
    }
    env.update(extra)
    return env


def _receive_mms(fake_twilio, media: list[tuple[bytes, str]], body: str | None = None) -> InboundMessage:
    """Text the gateway an MMS exactly as Twilio does: a signed webhook POST whose MediaUrlN
    point at the fake Twilio's media (Basic auth, then a 307 to its CDN)."""
    payload = with_new_sid(load_payload("inbound_mms__voice_image_vcard"))
    sid = payload["MessageSid"]
    phone_number_create(number=payload["From"])
    for key in [k for k in payload if k.startswith(("MediaUrl", "MediaContentType"))]:
        del payload[key]
    payload["NumMedia"] = str(len(media))
    if body is not None:
        payload["Body"] = body
    for index, (content, content_type) in enumerate(media):
        payload[f"MediaUrl{index}"] = fake_twilio.add_media(content, content_type, message_sid=sid)
        payload[f"MediaContentType{index}"] = content_type
    response = post_webhook(Client(), payload)
    assert (response.status_code, response["X-SMS-Outcome"]) == (200, "accepted")
    return InboundMessage.objects.get(message_sid=sid)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, worker: CeleryWorker) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{worker.output()[-4000:]}")


def _status(message: InboundMessage) -> str:
    return InboundMessage.objects.values_list("status", flat=True).get(pk=message.pk)


def test_mms_voice_image_vcard_end_to_end_on_a_real_worker(fake_twilio, fake_speech, media_temp_dir, real_broker):
    fake_speech.latency = 0.2
    fake_speech.transcripts = ["Lunch with Sarah, she is training for the Boston marathon"]
    env = _worker_env(fake_twilio, fake_speech, media_temp_dir)
    with CeleryWorker(env=env) as worker, RelayProcess(env=env):
        message = _receive_mms(
            fake_twilio,
            [(audio_bytes("amr", 5), "audio/amr"), (jpeg_bytes(), "image/jpeg"), (vcard_bytes(), "text/vcard")],
        )
        _wait_for(lambda: _status(message) == MessageStatus.PROCESSED, 60, "processed", worker)
        _wait_for(lambda: len(fake_twilio.deleted_media) == 3, 10, "media deletion", worker)

    message.refresh_from_db()
    assert message.attempts == 1 and message.error_code == ""
    items = {i.kind: i for i in EnrichmentItem.objects.filter(message=message)}
    assert sorted(items) == ["contact", "location", "media", "note", "person", "tag"]
    assert items["note"].value == "Lunch with Sarah, she is training for the Boston marathon"
    assert (items["person"].value, items["location"].value, items["tag"].value) == ("Sarah", "Boston", "running")
    assert items["note"].source == "voice"
    assert items["contact"].value == "Sarah Connor"
    assert items["contact"].metadata["emails"] == ["sarah@example.com"]
    assert default_storage.open(items["media"].value).read() == jpeg_bytes()
    assert all(i.status == "pending" and i.user_id == message.user_id for i in items.values())
    assert [(m.to, m.body) for m in fake_twilio.sent] == [
        (message.from_number, "Saved 6 items from your voice note — review them in the app")
    ]
    assert sorted(sid for _, sid in fake_twilio.deleted_media) == sorted(
        a.url.rsplit("/", 1)[-1] for a in message.media.all()
    )
    assert list(media_temp_dir.iterdir()) == []
    default_storage.delete(items["media"].value)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")
def test_the_readme_example_and_a_business_card_photo_end_to_end_on_a_real_worker(
    fake_twilio, fake_speech, media_temp_dir, real_broker
):
    env = _worker_env(fake_twilio, fake_speech, media_temp_dir)
    card = BUSINESS_CARD.read_bytes()
    with CeleryWorker(env=env) as worker, RelayProcess(env=env):
        message = _receive_mms(
            fake_twilio,
            [(card, "image/jpeg")],
            body="Had lunch with Sarah, she's training for the Boston marathon",
        )
        _wait_for(lambda: _status(message) == MessageStatus.PROCESSED, 60, "processed", worker)

    items = {i.kind: i for i in EnrichmentItem.objects.filter(message=message)}
    assert sorted(items) == ["contact", "location", "media", "note", "person", "tag"]
    assert items["note"].value == "Had lunch with Sarah, she's training for the Boston marathon"
    assert items["person"].value == "Sarah"
    assert items["person"].metadata["context"] == items["note"].value
    assert (items["location"].value, items["location"].metadata["country"]) == ("Boston", "US")
    assert items["tag"].value == "running"
    contact = items["contact"]
    assert contact.value == "Oluwaseun Adeyemi"
    assert contact.metadata["phones"] == ["+14155550134", "+12125550187"]
    assert contact.metadata["emails"] == ["seun.adeyemi@northwind.example"]
    assert contact.metadata["organization"] == "Northwind Traders Inc."
    default_storage.delete(items["media"].value)


def test_worker_killed_mid_queue_every_message_is_processed_once_within_90_s(
    fake_twilio, fake_speech, media_temp_dir, real_broker
):
    # Production settings (a 60 s lease, the relay's 10 s sweep). Speech hangs, so the first
    # worker is inside the voice message's task (status processing) when it is SIGKILLed, with
    # five texts queued behind it. Nobody renews the dead claim; the sweep hands the message to
    # the second worker once the lease ran out. The broker's redelivery (an hour) plays no part.
    fake_speech.latency = 60
    env = _worker_env(fake_twilio, fake_speech, media_temp_dir, SPEECH_TIMEOUT="120")
    relay = RelayProcess(env=env).start()
    first = CeleryWorker(env=env).start()
    try:
        message = _receive_mms(fake_twilio, [(audio_bytes("amr", 2), "audio/amr"), (vcard_bytes(), "text/vcard")])
        _wait_for(lambda: len(fake_speech.server.requests) >= 1, 60, "the speech call", first)
        texts = [
            with_new_sid(load_payload("inbound_sms__plain", From=message.from_number, Body=f"Sam likes jazz {i}"))
            for i in range(5)
        ]
        for params in texts:
            assert post_webhook(Client(), params)["X-SMS-Outcome"] == "accepted"
        queued = InboundMessage.objects.filter(message_sid__in=[p["MessageSid"] for p in texts])
        _wait_for(lambda: queued.filter(queued_at__isnull=False).count() == 5, 10, "the texts queued", first)
        assert _status(message) == MessageStatus.PROCESSING
        assert not queued.filter(status=MessageStatus.PROCESSED).exists()
    finally:
        first.kill()
    crashed = time.monotonic()

    fake_speech.latency = 0
    everything = InboundMessage.objects.filter(pk__in=[message.pk, *queued.values_list("pk", flat=True)])
    with CeleryWorker(env=env) as second:
        _wait_for(lambda: everything.filter(status=MessageStatus.PROCESSED).count() == 6, 90, "processing", second)
        recovered = time.monotonic() - crashed
        time.sleep(4)  # long enough for any second hand-out to show up
    relay.stop()
    assert recovered <= 90, recovered
    print(f"every message processed {recovered:.1f} s after the crash")

    assert sorted(queued.values_list("attempts", flat=True)) == [1] * 5
    message.refresh_from_db()
    assert message.attempts == 2
    assert sorted(EnrichmentItem.objects.filter(message=message).values_list("kind", flat=True)) == [
        "contact",
        "note",
        "person",
    ]
    assert len(fake_twilio.sent) == 6  # one confirmation per message
    # The killed attempt's download was never cleaned up by its worker: the sweep takes it.
    leftovers = list(media_temp_dir.iterdir())
    from sms.clients.media import cleanup_temp_files

    assert cleanup_temp_files(older_than_seconds=0, temp_dir=str(media_temp_dir)) == len(leftovers)
    assert list(media_temp_dir.iterdir()) == []


def test_celery_s_own_lines_name_the_message_on_a_real_worker(fake_twilio, fake_speech, media_temp_dir, real_broker):
    # Celery logs "Task … received" in the worker's main process and "… succeeded" after the task
    # returned: both carry the message's MessageSid and id beside the task id (LOG_FORMAT=json).
    env = _worker_env(fake_twilio, fake_speech, media_temp_dir, LOG_FORMAT="json")
    phone_number_create(number="+14155550100")
    params = with_new_sid(load_payload("inbound_sms__plain", From="+14155550100"))
    with CeleryWorker(env=env) as worker, RelayProcess(env=env):
        assert post_webhook(Client(), params)["X-SMS-Outcome"] == "accepted"
        message = InboundMessage.objects.get(message_sid=params["MessageSid"])
        _wait_for(lambda: "succeeded" in worker.output(), 60, "the task's success line", worker)
    lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    celery_lines = [line for line in lines if line["logger"].startswith("celery.") and "Task " in line["message"]]
    assert {line["message"].split("] ", 1)[-1].split(" ")[0] for line in celery_lines} >= {"received", "succeeded"}
    for line in celery_lines:
        assert (line.get("message_sid"), line.get("message_id")) == (message.message_sid, message.pk), line
        assert line["task_id"] in line["message"], line
