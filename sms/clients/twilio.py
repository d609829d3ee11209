"""Outbound Twilio adapter: the only module that imports the ``twilio`` REST SDK.

One pooled HTTP session per process (keep-alive, bounded pool, connect/read timeouts),
retries with backoff on 429/5xx and connection errors only, typed errors for permanent
failures. ``TWILIO_API_BASE_URL`` redirects every SDK call (tests point it at a local fake).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.util.retry import Retry

from performance import metrics
from performance.pools import PoolStats, register_pool
from sms.clients import ClientFactory
from sms.masking import mask_phone

logger = logging.getLogger(__name__)
console_logger = logging.getLogger("sms.console")

TWILIO_API_HOST = "https://api.twilio.com"
CONNECT_TIMEOUT = 3.05
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Twilio error codes that no retry will fix.
OPTED_OUT_CODES = {21610}  # "Attempt to send to unsubscribed recipient"
INVALID_NUMBER_CODES = {21211, 21214, 21217, 21401, 21407, 21408, 21612, 21614}


class TwilioError(Exception):
    """A Twilio call failed."""

    code: int | None = None
    status: int | None = None

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class TwilioTransientError(TwilioError):
    """429, 5xx, timeouts, connection errors: worth retrying later."""


class TwilioPermanentError(TwilioError):
    """A 4xx no retry will fix."""


class TwilioInvalidNumberError(TwilioPermanentError):
    """The recipient is not a valid, SMS-capable number."""


class TwilioRecipientOptedOutError(TwilioPermanentError):
    """The recipient replied STOP to our number (error 21610): mark them opted out."""


@dataclass(frozen=True)
class SentSms:
    sid: str
    status: str
    to: str


class _PooledHttpClient(TwilioHttpClient):
    """The SDK's HTTP client on one keep-alive session, with retries and a base-URL override."""

    def __init__(self, *, base_url: str, timeout: float, pool_size: int, retries: int, backoff: float) -> None:
        super().__init__(pool_connections=True, timeout=timeout)
        self.base_url = base_url.rstrip("/")
        retry = Retry(
            total=retries,
            connect=retries,
            read=0,  # a read timeout after sending may mean Twilio got it: don't send twice
            status=retries,
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # POST too: 429/5xx/connect errors mean nothing was created
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=retry, pool_block=False)
        assert self.session is not None
        self.session.mount("https://", self.adapter)
        self.session.mount("http://", self.adapter)
        # A (connect, read) pair: a dead host fails fast, a slow answer gets the full read timeout.
        self.timeout = (CONNECT_TIMEOUT, timeout)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API_HOST):
            url = self.base_url + url[len(TWILIO_API_HOST) :]
        kwargs["timeout"] = None  # use self.timeout, the (connect, read) pair
        try:
            return super().request(method, url, *args, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TwilioTransientError(f"Twilio unreachable: {type(exc).__name__}") from exc


class TwilioClient:
    """Typed methods over the Twilio REST API."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str,
        timeout: float,
        pool_size: int,
        retries: int = 3,
        backoff: float = 0.5,
        messaging_service_sid: str = "",
    ) -> None:
        self.account_sid = account_sid
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.http = _PooledHttpClient(
            base_url=base_url, timeout=timeout, pool_size=pool_size, retries=retries, backoff=backoff
        )
        self.rest = Client(account_sid, auth_token, http_client=self.http)

    def send_sms(self, *, to: str, body: str, status_callback: str = "") -> SentSms:
        """Send ``body`` to ``to`` through the Messaging Service when one is set (else from our
        number), asking Twilio to post its delivery statuses to ``status_callback`` (if any).
        Raises TwilioTransientError or a TwilioPermanentError subclass."""
        sender: dict[str, Any] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number}
        )
        if status_callback:
            sender["status_callback"] = status_callback
        try:
            message = self.rest.messages.create(to=to, body=body, **sender)
        except TwilioRestException as exc:
            metrics.OUTBOUND_SMS.labels("failed").inc()
            error = _map_rest_error(exc)
            logger.warning(
                "twilio send to %s failed: status=%s code=%s (%s)",
                mask_phone(to),
                exc.status,
                exc.code,
                type(error).__name__,
            )
            raise error from exc
        except TwilioTransientError:
            metrics.OUTBOUND_SMS.labels("failed").inc()
            logger.warning("twilio send to %s failed: Twilio unreachable", mask_phone(to))
            raise
        metrics.OUTBOUND_SMS.labels("sent").inc()
        return SentSms(sid=str(message.sid), status=str(message.status), to=to)

    def delete_media(self, *, message_sid: str, media_sid: str) -> None:
        """Delete one media item of a message from Twilio's storage (404 counts as done)."""
        try:
            self.rest.api.v2010.accounts(self.account_sid).messages(message_sid).media(media_sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return
            raise _map_rest_error(exc) from exc

    def pool_stats(self) -> PoolStats:
        return adapter_pool_stats(self.http.adapter)


class ConsoleSmsClient(TwilioClient):
    """``SMS_BACKEND=console`` (the embedded default, where no Twilio account is set): every SMS
    is written to the log instead of sent, so the whole flow runs on one machine."""

    def send_sms(self, *, to: str, body: str, status_callback: str = "") -> SentSms:
        metrics.OUTBOUND_SMS.labels("sent").inc()
        sid = "SMconsole" + uuid.uuid4().hex[:25]
        console_logger.info("SMS to %s (console, not sent): %s", mask_phone(to), body)
        return SentSms(sid=sid, status="sent", to=to)

    def delete_media(self, *, message_sid: str, media_sid: str) -> None:
        return None


def _map_rest_error(exc: TwilioRestException) -> TwilioError:
    message = f"Twilio {exc.status} (code {exc.code}): {exc.msg}"
    if exc.status in RETRY_STATUSES:
        return TwilioTransientError(message, code=exc.code, status=exc.status)
    if exc.code in OPTED_OUT_CODES:
        return TwilioRecipientOptedOutError(message, code=exc.code, status=exc.status)
    if exc.code in INVALID_NUMBER_CODES:
        return TwilioInvalidNumberError(message, code=exc.code, status=exc.status)
    return TwilioPermanentError(message, code=exc.code, status=exc.status)


def adapter_pool_stats(adapter: HTTPAdapter) -> PoolStats:
    """size/in_use/idle/max of a requests adapter's urllib3 pools (summed over hosts).

    urllib3 keeps a LIFO queue pre-filled with ``None`` placeholders: a connection checked
    out leaves the queue, an idle one sits in it, a placeholder is a slot never used.
    """
    size = in_use = idle = 0
    maxsize = 0
    for key in list(adapter.poolmanager.pools.keys()):
        pool = adapter.poolmanager.pools.get(key)
        if pool is None or pool.pool is None:
            continue
        queue = list(pool.pool.queue)
        pool_idle = sum(1 for conn in queue if conn is not None)
        pool_in_use = pool.pool.maxsize - len(queue)
        idle += pool_idle
        in_use += pool_in_use
        size += pool_idle + pool_in_use
        maxsize += pool.pool.maxsize
    return {"size": size, "in_use": in_use, "idle": idle, "waiting": 0, "max": maxsize or adapter._pool_maxsize}  # type: ignore[attr-defined]


def _twilio_client_build() -> TwilioClient:
    cls = ConsoleSmsClient if settings.SMS_BACKEND == "console" else TwilioClient
    client = cls(
        account_sid=settings.TWILIO_ACCOUNT_SID,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        from_number=settings.TWILIO_PHONE_NUMBER,
        base_url=settings.TWILIO_API_BASE_URL,
        timeout=settings.TWILIO_HTTP_TIMEOUT,
        pool_size=settings.TWILIO_HTTP_POOL_SIZE,
        backoff=getattr(settings, "TWILIO_HTTP_RETRY_BACKOFF", 0.5),
        messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID,
    )
    register_pool("twilio_http", client.pool_stats)
    return client


_factory = ClientFactory(
    _twilio_client_build,
    settings_names=[
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_PHONE_NUMBER",
        "TWILIO_API_BASE_URL",
        "TWILIO_HTTP_TIMEOUT",
        "TWILIO_HTTP_POOL_SIZE",
        "TWILIO_HTTP_RETRY_BACKOFF",
        "SMS_BACKEND",
        "TWILIO_MESSAGING_SERVICE_SID",
    ],
)


def get_twilio_client() -> TwilioClient:
    """The process's Twilio client (the console one when SMS_BACKEND=console)."""
    return _factory.get()
