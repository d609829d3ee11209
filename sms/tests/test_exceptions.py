"""One error family: what services, clients and the pipeline raise on purpose is an SmsError."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sms.clients.gemini import GeminiError
from sms.clients.media import MediaError
from sms.clients.speech import SpeechError
from sms.exceptions import SmsError
from sms.extraction import ExtractionUnavailableError
from sms.extraction.base import ExtractionError
from sms.processing.audio import AudioError
from sms.processing.pipeline import ProcessingError
from sms.tests.factories import user_create


@pytest.mark.parametrize("family", [AudioError, GeminiError, MediaError, SpeechError, ExtractionError, ProcessingError])
def test_every_error_family_shares_the_base(family: type[Exception]) -> None:
    assert issubclass(family, SmsError)
    error = family("why", code="some_code")
    assert (error.code, str(error), error.is_transient) == ("some_code", "why", False)


def test_transient_errors_say_so() -> None:
    assert ExtractionUnavailableError().is_transient


@pytest.mark.django_db
def test_the_api_maps_a_domain_error_to_its_status_and_code() -> None:
    client = APIClient()
    client.force_authenticate(user_create())
    response = client.delete("/api/user/phone-number")
    assert response.status_code == 404
    assert response.json() == {"code": "not_linked", "detail": "Your account has no phone number."}
