"""Speech client: bounded pool, explicit retry on transient errors, typed errors."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from performance.pools import pool_stats
from sms.clients.speech import BoundedPool, SpeechClient, SpeechRejectedError, SpeechUnavailableError, get_speech_client


def _client(fake, **kw):
    options: dict[str, Any] = {"pool_size": 2, "pool_timeout": 2.0, "timeout": 5.0, "retry_deadline": 5.0}
    options.update(kw)
    return SpeechClient(endpoint=fake.url, language_code="en-US", **options)


def test_transient_errors_are_retried_within_the_call(fake_speech):
    fake_speech.fail_next(503, times=2)

    result = _client(fake_speech).recognize(content=b"fLaC", encoding="FLAC", sample_rate_hertz=16000)

    assert result.text == "transcript 1 of FLAC"
    assert len(fake_speech.calls) == 1  # two failures, then the recorded success


def test_persistent_unavailability_is_a_transient_error(fake_speech):
    fake_speech.fail_next(503, times=100)

    with pytest.raises(SpeechUnavailableError):
        _client(fake_speech, retry_deadline=1.0).recognize(content=b"x", encoding="FLAC", sample_rate_hertz=16000)


def test_bad_request_is_permanent(fake_speech):
    fake_speech.fail_next(400)

    with pytest.raises(SpeechRejectedError):
        _client(fake_speech).recognize(content=b"x", encoding="FLAC", sample_rate_hertz=16000)


def test_call_timeout_is_enforced(fake_speech):
    fake_speech.latency = 2.0

    with pytest.raises(SpeechUnavailableError):
        _client(fake_speech, timeout=0.3, retry_deadline=0.5).recognize(
            content=b"x", encoding="FLAC", sample_rate_hertz=16000
        )


def test_pool_is_bounded_and_waiters_time_out():
    pool = BoundedPool(object, size=1, timeout=0.2)
    with pool.acquire():
        assert pool.stats() == {"size": 1, "in_use": 1, "idle": 0, "waiting": 0, "max": 1}
        errors = []

        def other():
            try:
                with pool.acquire():
                    pass
            except SpeechUnavailableError as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert len(errors) == 1
    assert pool.stats() == {"size": 1, "in_use": 0, "idle": 1, "waiting": 0, "max": 1}


def test_speech_pool_is_registered_with_performance(fake_speech, settings):
    settings.SPEECH_POOL_SIZE = 3
    get_speech_client().recognize(content=b"x", encoding="FLAC", sample_rate_hertz=16000)

    assert pool_stats()["speech"] == {"size": 1, "in_use": 0, "idle": 1, "waiting": 0, "max": 3}
