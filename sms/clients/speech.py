"""Google Cloud Speech-to-Text adapter: the only module that imports ``google.cloud.speech``.

Clients come from a bounded pool (``SPEECH_POOL_SIZE``; callers wait at most
``SPEECH_POOL_TIMEOUT`` for one), registered with ``performance`` as "speech". Every
recognize call passes an explicit timeout and retry policy (retry on UNAVAILABLE,
DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL; exponential backoff within
``SPEECH_RETRY_DEADLINE``). ``SPEECH_API_ENDPOINT`` set to an ``http://`` URL switches to the
REST transport with anonymous credentials (local fakes); otherwise gRPC to Google's endpoint
with the application default credentials.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import speech

from performance import metrics
from performance.pools import PoolStats, register_pool
from sms.clients import ClientFactory, SettingsRead
from sms.exceptions import SmsError

logger = logging.getLogger(__name__)

TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.TooManyRequests,
    gexc.ResourceExhausted,
    gexc.InternalServerError,
    gexc.BadGateway,
    gexc.GatewayTimeout,
)


class SpeechError(SmsError, code="transcription_failed"): ...


class SpeechUnavailableError(SpeechError, code="speech_unavailable", is_transient=True):
    """Speech-to-Text did not answer (timeouts, 5xx, quota, pool exhausted): retry later."""


class SpeechRejectedError(SpeechError, code="transcription_failed"):
    """Speech-to-Text refused the audio (bad encoding, too long, …): retrying will not help."""


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float | None


class BoundedPool:
    """At most ``size`` objects made by ``factory``, lent out one caller at a time."""

    def __init__(self, factory: Callable[[], Any], *, size: int, timeout: float) -> None:
        self.factory = factory
        self.size = size
        self.timeout = timeout
        self._idle: list[Any] = []
        self._created = 0
        self._in_use = 0
        self._waiting = 0
        self._cond = threading.Condition()

    @contextmanager
    def acquire(self) -> Iterator[Any]:
        deadline = time.monotonic() + self.timeout
        with self._cond:
            self._waiting += 1
            try:
                while not self._idle and self._created >= self.size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise SpeechUnavailableError("no speech client free within the pool timeout")
                    self._cond.wait(remaining)
            finally:
                self._waiting -= 1
            if self._idle:
                item = self._idle.pop()
            else:
                self._created += 1
                item = None
            self._in_use += 1
        try:
            if item is None:
                try:
                    item = self.factory()
                except BaseException:
                    with self._cond:
                        self._created -= 1
                        self._in_use -= 1
                        self._cond.notify()
                    raise
            yield item
        finally:
            with self._cond:
                self._in_use -= 1
                if item is not None:
                    self._idle.append(item)
                self._cond.notify()

    def stats(self) -> PoolStats:
        with self._cond:
            return {
                "size": self._created,
                "in_use": self._in_use,
                "idle": len(self._idle),
                "waiting": self._waiting,
                "max": self.size,
            }


def _make_client(endpoint: str) -> speech.SpeechClient:
    if endpoint.startswith("http://"):
        return speech.SpeechClient(
            credentials=AnonymousCredentials(),
            transport="rest",
            client_options=ClientOptions(api_endpoint=endpoint),
        )
    if endpoint:
        return speech.SpeechClient(client_options=ClientOptions(api_endpoint=endpoint))
    return speech.SpeechClient()


class SpeechClient:
    def __init__(
        self,
        *,
        endpoint: str,
        language_code: str,
        pool_size: int,
        pool_timeout: float,
        timeout: float,
        retry_deadline: float,
    ) -> None:
        self.language_code = language_code
        self.timeout = timeout
        self.retry = gretry.Retry(
            predicate=gretry.if_exception_type(*TRANSIENT),
            initial=0.25,
            maximum=4.0,
            multiplier=2.0,
            timeout=retry_deadline,
        )
        self.pool = BoundedPool(lambda: _make_client(endpoint), size=pool_size, timeout=pool_timeout)

    def recognize(self, *, content: bytes, encoding: str, sample_rate_hertz: int, channels: int = 1) -> Transcript:
        """Synchronous recognition of one chunk (≤ ~1 minute). Raises a SpeechError subclass."""
        config = speech.RecognitionConfig(
            encoding=getattr(speech.RecognitionConfig.AudioEncoding, encoding),
            sample_rate_hertz=sample_rate_hertz,
            audio_channel_count=channels,
            language_code=self.language_code,
            enable_automatic_punctuation=True,
        )
        audio = speech.RecognitionAudio(content=content)
        started = time.monotonic()
        try:
            with self.pool.acquire() as client:
                response = client.recognize(config=config, audio=audio, retry=self.retry, timeout=self.timeout)
        except SpeechUnavailableError:
            metrics.SPEECH_ERRORS.labels("pool_timeout").inc()
            raise
        except (gexc.RetryError, *TRANSIENT) as exc:
            metrics.SPEECH_ERRORS.labels("unavailable").inc()
            raise SpeechUnavailableError(f"speech unavailable: {type(exc).__name__}") from exc
        except gexc.GoogleAPICallError as exc:
            metrics.SPEECH_ERRORS.labels("rejected").inc()
            raise SpeechRejectedError(f"speech refused the audio: {type(exc).__name__}") from exc
        except Exception as exc:  # transport errors (connection refused, read timeout, …)
            metrics.SPEECH_ERRORS.labels("unavailable").inc()
            raise SpeechUnavailableError(f"speech unreachable: {type(exc).__name__}") from exc
        finally:
            metrics.SPEECH_LATENCY.observe(time.monotonic() - started)
        texts: list[str] = []
        confidences: list[float] = []
        for result in response.results:
            if result.alternatives:
                best = result.alternatives[0]
                texts.append(best.transcript.strip())
                confidences.append(float(best.confidence))
        confidence = sum(confidences) / len(confidences) if confidences else None
        return Transcript(text=" ".join(t for t in texts if t), confidence=confidence)

    def pool_stats(self) -> PoolStats:
        return self.pool.stats()


@ClientFactory
def get_speech_client(settings: SettingsRead) -> SpeechClient:
    """The process's Speech client (pool)."""
    client = SpeechClient(
        endpoint=settings.SPEECH_API_ENDPOINT,
        language_code=settings.SPEECH_LANGUAGE_CODE,
        pool_size=settings.SPEECH_POOL_SIZE,
        pool_timeout=settings.SPEECH_POOL_TIMEOUT,
        timeout=settings.SPEECH_TIMEOUT,
        retry_deadline=settings.SPEECH_RETRY_DEADLINE,
    )
    register_pool("speech", client.pool_stats)
    return client
