"""Fixtures of the SMS tests: the Speech and Gemini fakes, media settings for 127.0.0.1, the real broker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def verified() -> Any:
    """The fixtures' sender (``webhook_client.SENDER``), linked to a user and verified."""
    from sms.tests.factories import phone_number_create
    from sms.tests.webhook_client import SENDER

    return phone_number_create(number=SENDER, verified=True)


@pytest.fixture
def fake_speech(settings: Any) -> Iterator[Any]:
    """A running fake Speech-to-Text REST API; settings point the real client at it."""
    from devkit.fakes.speech import FakeSpeech

    fake = FakeSpeech().start()
    settings.SPEECH_API_ENDPOINT = fake.url
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_gemini(settings: Any) -> Iterator[Any]:
    """A running fake Gemini API; settings point the real SDK at it and select the Gemini tier."""
    from devkit.fakes.gemini import FakeGemini

    fake = FakeGemini().start()
    settings.GEMINI_BASE_URL = fake.url
    settings.GEMINI_API_KEY = "test-gemini-key"
    settings.GEMINI_TIMEOUT_SECONDS = 5.0
    settings.SMS_EXTRACTOR_CLASS = "sms.extraction.gemini.GeminiExtractor"
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def media_temp_dir(settings: Any, tmp_path: Any) -> Any:
    """Downloads land in a directory of the test's own, so "no temp file left" can be checked."""
    directory = tmp_path / "media-tmp"
    directory.mkdir()
    settings.SMS_MEDIA_TEMP_DIR = str(directory)
    return directory


@pytest.fixture
def local_media(settings: Any, fake_twilio: Any, media_temp_dir: Any) -> Any:
    """Media served by the fake Twilio on 127.0.0.1: allow that host and loopback addresses."""
    settings.SMS_MEDIA_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SMS_MEDIA_ALLOW_PRIVATE_IPS = True
    settings.SMS_MEDIA_NOT_FOUND_RETRY_DELAYS = [1.0, 3.0]
    return fake_twilio


@pytest.fixture
def real_broker() -> Iterator[None]:
    """Publish tasks to the Redis broker instead of running them eagerly (the test settings'
    default), for tests with a real worker or that count broker commands."""
    from smsgateway.celery import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = was
