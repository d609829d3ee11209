"""Gemini client: the real google-genai SDK against the local fake (devkit/fakes/gemini.py)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from performance import metrics
from sms.clients.gemini import (
    GeminiClient,
    GeminiInvalidOutputError,
    GeminiRejectedError,
    GeminiUnavailableError,
    InlineMedia,
    get_gemini_client,
)


class Answer(BaseModel):
    note: str
    tags: list[str] = []


def _client(fake, **kw) -> GeminiClient:
    options = {
        "api_key": "k-123",
        "model": "gemini-2.5-flash",
        "base_url": fake.url,
        "timeout": 5.0,
        "max_output_tokens": 1024,
        "price_input": 0.30,
        "price_output": 2.50,
    }
    options.update(kw)
    return GeminiClient(**options)


def _generate(client: GeminiClient, data=None, media=()):
    return client.generate(instruction="Extract.", data=data or {"text": "hi"}, media=list(media), schema=Answer)


def _count(name: str, **labels: str) -> float:
    return metrics.sample_total(name, labels)


def test_answer_is_validated_and_request_carries_schema_key_and_json_mime_type(fake_gemini):
    fake_gemini.replies = [{"note": "hi there", "tags": ["running"]}]

    answer, usage = _generate(_client(fake_gemini))

    assert answer == Answer(note="hi there", tags=["running"])
    (call,) = fake_gemini.calls
    assert (call.model, call.api_key) == ("gemini-2.5-flash", "k-123")
    assert call.system_instruction == "Extract."
    assert call.data() == {"text": "hi"}
    config = call.generation_config
    assert config["responseMimeType"] == "application/json"
    assert set(config["responseSchema"]["properties"]) == {"note", "tags"}
    assert config["maxOutputTokens"] == 1024
    assert (usage.input_tokens, usage.output_tokens) == (1200, 80)


def test_tokens_and_estimated_cost_are_counted_from_usage_metadata(fake_gemini):
    fake_gemini.replies = [{"note": "x"}]
    fake_gemini.usage = {"promptTokenCount": 2000, "candidatesTokenCount": 100, "thoughtsTokenCount": 300}
    before = (
        _count("smsgw_gemini_tokens_total", direction="input"),
        _count("smsgw_gemini_tokens_total", direction="output"),
        _count("smsgw_gemini_cost_usd_total"),
        _count("smsgw_gemini_calls_total", outcome="ok"),
        _count("smsgw_gemini_latency_seconds_count"),
    )

    _, usage = _generate(_client(fake_gemini))

    # Thinking tokens are billed as output: 2000 in, 400 out.
    assert usage.cost_usd == pytest.approx((2000 * 0.30 + 400 * 2.50) / 1_000_000)
    assert _count("smsgw_gemini_tokens_total", direction="input") == before[0] + 2000
    assert _count("smsgw_gemini_tokens_total", direction="output") == before[1] + 400
    assert _count("smsgw_gemini_cost_usd_total") == pytest.approx(before[2] + usage.cost_usd)
    assert _count("smsgw_gemini_calls_total", outcome="ok") == before[3] + 1
    assert _count("smsgw_gemini_latency_seconds_count") == before[4] + 1


def test_inline_media_is_sent_with_its_mime_type(fake_gemini):
    fake_gemini.replies = [{"note": ""}]

    _generate(_client(fake_gemini), media=[InlineMedia("image/webp", b"RIFF....WEBPVP8 ")])

    (part,) = fake_gemini.calls[0].inline
    assert (part.mime_type, part.data) == ("image/webp", b"RIFF....WEBPVP8 ")


@pytest.mark.parametrize(("status", "reason"), [(429, "rate_limited"), (500, "server_error"), (503, "server_error")])
def test_rate_limit_and_server_errors_are_transient_and_not_retried_by_the_sdk(fake_gemini, status, reason):
    fake_gemini.fail_next(status)
    before = _count("smsgw_gemini_errors_total", reason=reason)

    with pytest.raises(GeminiUnavailableError):
        _generate(_client(fake_gemini))

    # One request: retries are the pipeline's, with its backoff.
    assert len(fake_gemini.server.requests) == 1
    assert _count("smsgw_gemini_errors_total", reason=reason) == before + 1


@pytest.mark.parametrize("status", [400, 403])
def test_other_client_errors_are_permanent(fake_gemini, status):
    fake_gemini.fail_next(status)

    with pytest.raises(GeminiRejectedError, match=str(status)):
        _generate(_client(fake_gemini))


def test_timeout_is_enforced_and_transient(fake_gemini):
    fake_gemini.latency = 2.0
    before = _count("smsgw_gemini_errors_total", reason="timeout")

    with pytest.raises(GeminiUnavailableError, match="in time"):
        _generate(_client(fake_gemini, timeout=0.3))

    assert _count("smsgw_gemini_errors_total", reason="timeout") == before + 1


def test_a_200_that_is_not_a_gemini_response_is_transient(fake_gemini):
    fake_gemini.raw_bodies = [b"<html>502 from a proxy that says 200</html>"]

    with pytest.raises(GeminiUnavailableError, match="not a response"):
        _generate(_client(fake_gemini))


def test_unreachable_gemini_is_transient():
    class Closed:
        url = "http://127.0.0.1:9"

    with pytest.raises(GeminiUnavailableError, match="unreachable"):
        _generate(_client(Closed()))


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ('{"note": "unterminated', "invalid_json"),
        ({"tags": ["no note"]}, "schema_mismatch"),
        ({"note": 42}, "schema_mismatch"),
        ("   ", "empty"),
    ],
)
def test_invalid_answers_raise_invalid_output_with_the_reason(fake_gemini, reply, reason):
    fake_gemini.replies = [reply]
    before = _count("smsgw_gemini_calls_total", outcome="invalid_output")

    with pytest.raises(GeminiInvalidOutputError) as caught:
        _generate(_client(fake_gemini))

    assert caught.value.reason == reason
    assert "unterminated" not in str(caught.value)  # the answer's content is never in the error
    assert _count("smsgw_gemini_calls_total", outcome="invalid_output") == before + 1


def test_answer_cut_off_at_the_token_limit_is_invalid(fake_gemini):
    fake_gemini.replies = [{"note": "fine"}]
    fake_gemini.finish_reason = "MAX_TOKENS"

    with pytest.raises(GeminiInvalidOutputError) as caught:
        _generate(_client(fake_gemini))

    assert caught.value.reason == "truncated"


def test_factory_reads_settings_and_refuses_without_a_key(fake_gemini, settings):
    assert get_gemini_client().model == settings.GEMINI_MODEL
    assert get_gemini_client() is get_gemini_client()

    settings.GEMINI_API_KEY = ""
    with pytest.raises(GeminiRejectedError, match="GEMINI_API_KEY"):
        get_gemini_client()


def test_thinking_budget_is_sent_only_when_set(fake_gemini):
    fake_gemini.replies = [{"note": "a"}, {"note": "b"}]

    _generate(_client(fake_gemini))
    _generate(_client(fake_gemini, thinking_budget=0))

    default, off = (call.generation_config for call in fake_gemini.calls)
    assert "thinkingConfig" not in default
    # The SDK sends this one field snake_case, which the API's JSON parser accepts.
    assert off["thinkingConfig"] in ({"thinkingBudget": 0}, {"thinking_budget": 0})
