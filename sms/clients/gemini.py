"""Gemini adapter: the only module that imports ``google.genai`` (and ``httpx2``, its transport).

One call, :meth:`GeminiClient.generate`: a system instruction (ours), one JSON data part
(what the sender sent, encoded by us) and inline images or videos, answered as JSON that must
validate against a pydantic model (the response schema). Instructions and data never share a
part, so a text that says "ignore previous instructions" reaches the model as data.

Every call has an explicit timeout (``GEMINI_TIMEOUT_SECONDS``, the SDK's ``http_options``
timeout in ms) and the SDK's own retries are off (one attempt): retries belong to the
processing pipeline, which backs off per message. Errors are typed:

- :class:`GeminiUnavailableError` (transient): 429, 5xx, 408, timeouts, connection errors;
- :class:`GeminiRejectedError` (permanent): any other 4xx (bad key, bad request, refused input);
- :class:`GeminiInvalidOutputError`: an answer that is not JSON, does not match the schema, was
  cut off (``MAX_TOKENS``) or blocked; the caller decides what to do with it.

Each call counts its outcome, latency, error reason, tokens in and out (``usage_metadata``) and
its estimated cost (``GEMINI_PRICE_*_PER_MILLION_TOKENS``) in ``performance.metrics``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel, ValidationError

from performance import metrics
from sms.clients import ClientFactory, SettingsRead
from sms.exceptions import SmsError

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# Statuses worth another try later; every other 4xx is the request's fault.
TRANSIENT_STATUSES = frozenset({408, 429})


class GeminiError(SmsError, code="gemini_failed"): ...


class GeminiUnavailableError(GeminiError, code="gemini_unavailable", is_transient=True):
    """Gemini did not answer in time, is overloaded (429) or failed (5xx): retry later."""


class GeminiRejectedError(GeminiError, code="gemini_rejected"):
    """Gemini refused the request (4xx other than 408/429): retrying will not help."""


class GeminiInvalidOutputError(GeminiError, code="gemini_invalid_output"):
    """Gemini answered, but not with JSON that matches the schema."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class InlineMedia:
    """An image or video sent with the request, typed by its sniffed MIME type."""

    mime_type: str
    data: bytes


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cost_usd: float


class GeminiClient:
    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str,
        timeout: float,
        max_output_tokens: int,
        thinking_budget: int = -1,
        price_input: float,
        price_output: float,
    ) -> None:
        self.model = model
        self.max_output_tokens = max_output_tokens
        self.thinking_budget = thinking_budget
        self.price_input = price_input
        self.price_output = price_output
        http_options = types.HttpOptions(
            base_url=base_url or None,
            timeout=max(1, int(timeout * 1000)),
            # One attempt: a hidden retry loop would multiply the timeout and hide 429s from
            # the pipeline's backoff.
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=api_key, http_options=http_options)

    def generate(
        self,
        *,
        instruction: str,
        data: dict[str, Any],
        media: list[InlineMedia],
        schema: type[T],
    ) -> tuple[T, Usage]:
        """The answer to ``data`` (JSON-encoded into its own part) and ``media``, validated
        against ``schema``. Raises a :class:`GeminiError` subclass."""
        parts = [types.Part.from_text(text=json.dumps(data, ensure_ascii=False))]
        parts += [types.Part.from_bytes(data=m.data, mime_type=m.mime_type) for m in media]
        config = types.GenerateContentConfig(
            system_instruction=instruction,
            response_mime_type="application/json",
            response_schema=schema,
            temperature=0.0,
            max_output_tokens=self.max_output_tokens,
            # The answer is data, never a function call.
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            # Sent only when set: -1 is the model's own default, and not every model takes it.
            thinking_config=(
                types.ThinkingConfig(thinking_budget=self.thinking_budget) if self.thinking_budget >= 0 else None
            ),
        )
        started = time.monotonic()
        try:
            response = self._client.models.generate_content(
                model=self.model, contents=[types.Content(role="user", parts=parts)], config=config
            )
        except genai_errors.APIError as exc:
            raise self._api_error(exc) from exc
        except (genai_errors.UnknownApiResponseError, json.JSONDecodeError, ValidationError) as exc:
            # A 200 that is not a generateContent response at all: a broken proxy or a cut connection.
            raise self._unavailable("server_error", "Gemini answered a body that is not a response") from exc
        except httpx2.TimeoutException as exc:
            raise self._unavailable("timeout", f"Gemini did not answer in time: {type(exc).__name__}") from exc
        except httpx2.TransportError as exc:
            raise self._unavailable("unreachable", f"Gemini unreachable: {type(exc).__name__}") from exc
        finally:
            metrics.GEMINI_LATENCY.observe(time.monotonic() - started)
        usage = self._count_usage(response.usage_metadata)
        try:
            result = self._parse(response, schema)
        except GeminiInvalidOutputError as exc:
            metrics.GEMINI_CALLS.labels("invalid_output").inc()
            metrics.GEMINI_ERRORS.labels(exc.reason).inc()
            raise
        metrics.GEMINI_CALLS.labels("ok").inc()
        return result, usage

    def _api_error(self, exc: genai_errors.APIError) -> GeminiError:
        status = int(exc.code or 0)
        detail = f"Gemini answered {status} {exc.status or ''}".strip()
        if status in TRANSIENT_STATUSES:
            return self._unavailable("rate_limited" if status == 429 else "timeout", detail)
        if status >= 500:
            return self._unavailable("server_error", detail)
        metrics.GEMINI_CALLS.labels("rejected").inc()
        metrics.GEMINI_ERRORS.labels("rejected").inc()
        if status in (401, 403):
            # Every message will fail like this one until the key is fixed.
            logger.error("Gemini refused the API key (%s): check GEMINI_API_KEY", status)
        return GeminiRejectedError(detail)

    @staticmethod
    def _unavailable(reason: str, detail: str) -> GeminiUnavailableError:
        metrics.GEMINI_CALLS.labels("unavailable").inc()
        metrics.GEMINI_ERRORS.labels(reason).inc()
        return GeminiUnavailableError(detail)

    def _count_usage(self, usage: types.GenerateContentResponseUsageMetadata | None) -> Usage:
        if usage is None:
            return Usage(0, 0, 0.0)
        input_tokens = usage.prompt_token_count or 0
        # Thinking tokens are billed as output.
        output_tokens = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        cost = (input_tokens * self.price_input + output_tokens * self.price_output) / 1_000_000
        metrics.GEMINI_TOKENS.labels("input").inc(input_tokens)
        metrics.GEMINI_TOKENS.labels("output").inc(output_tokens)
        metrics.GEMINI_COST.inc(cost)
        return Usage(input_tokens, output_tokens, cost)

    @staticmethod
    def _parse(response: types.GenerateContentResponse, schema: type[T]) -> T:
        candidate = response.candidates[0] if response.candidates else None
        if candidate is None:
            feedback = response.prompt_feedback
            reason = feedback.block_reason if feedback and feedback.block_reason else "no candidate"
            raise GeminiInvalidOutputError(f"Gemini gave no answer ({reason})", reason="blocked")
        finish = candidate.finish_reason
        if finish == types.FinishReason.MAX_TOKENS:
            raise GeminiInvalidOutputError("Gemini's answer was cut off at the output token limit", reason="truncated")
        text = response.text or ""
        if not text.strip():
            raise GeminiInvalidOutputError(f"Gemini answered no text (finish reason {finish})", reason="empty")
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError as exc:
            # The error names the position, never the content.
            raise GeminiInvalidOutputError(
                f"Gemini's answer is not JSON (line {exc.lineno} column {exc.colno})", reason="invalid_json"
            ) from exc
        try:
            return schema.model_validate(decoded)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in error["loc"]) or "(root)" for error in exc.errors()})
            raise GeminiInvalidOutputError(
                f"Gemini's answer does not match the schema at {', '.join(fields[:5])}", reason="schema_mismatch"
            ) from exc


@ClientFactory
def get_gemini_client(settings: SettingsRead) -> GeminiClient:
    """The process's Gemini client (one pooled HTTP client, thread-safe)."""
    if not settings.GEMINI_API_KEY:
        raise GeminiRejectedError("GEMINI_API_KEY is not set")
    return GeminiClient(
        api_key=settings.GEMINI_API_KEY,
        model=settings.GEMINI_MODEL,
        base_url=settings.GEMINI_BASE_URL,
        timeout=settings.GEMINI_TIMEOUT_SECONDS,
        max_output_tokens=settings.GEMINI_MAX_OUTPUT_TOKENS,
        thinking_budget=settings.GEMINI_THINKING_BUDGET,
        price_input=settings.GEMINI_PRICE_INPUT_PER_MILLION_TOKENS,
        price_output=settings.GEMINI_PRICE_OUTPUT_PER_MILLION_TOKENS,
    )
