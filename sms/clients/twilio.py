"""Outbound Twilio adapter: the only module that imports the ``twilio`` REST SDK.

One pooled HTTP session per process (``sms/clients/http.py``: keep-alive, bounded pool,
connect/read timeouts), retries with backoff on 429/5xx and connection errors only, typed errors
for permanent failures. ``TWILIO_API_BASE_URL`` redirects every SDK call (tests point it at a
local fake).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from performance import metrics
from performance.pools import PoolStats, register_pool
from sms.clients import ClientFactory, SettingsRead
from sms.clients.http import HttpPolicy, PooledAdapter, transport_errors
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

    def __init__(self, *, base_url: str, http: HttpPolicy) -> None:
        super().__init__(pool_connections=True, timeout=http.read_timeout)
        self.base_url = base_url.rstrip("/")
        retry = http.retry(
            read=0,  # a read timeout after sending may mean Twilio got it: don't send twice
            status=http.retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # POST too: 429/5xx/connect errors mean nothing was created
        )
        self.adapter = PooledAdapter(http, retry=retry)
        assert self.session is not None
        self.adapter.mount_on(self.session)
        self.timeout = http.timeout()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API_HOST):
            url = self.base_url + url[len(TWILIO_API_HOST) :]
        kwargs["timeout"] = None  # use self.timeout, the (connect, read) pair
        with transport_errors(TwilioTransientError, "Twilio"):
            return super().request(method, url, *args, **kwargs)


class TwilioClient:
    """Typed methods over the Twilio REST API."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str,
        http: HttpPolicy,
        messaging_service_sid: str = "",
    ) -> None:
        self.account_sid = account_sid
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.http = _PooledHttpClient(base_url=base_url, http=http)
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
        return self.http.adapter.pool_stats()


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


@ClientFactory
def get_twilio_client(settings: SettingsRead) -> TwilioClient:
    """The process's Twilio client (the console one when SMS_BACKEND=console)."""
    cls = ConsoleSmsClient if settings.SMS_BACKEND == "console" else TwilioClient
    client = cls(
        account_sid=settings.TWILIO_ACCOUNT_SID,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        from_number=settings.TWILIO_PHONE_NUMBER,
        base_url=settings.TWILIO_API_BASE_URL,
        http=HttpPolicy(
            pool_size=settings.TWILIO_HTTP_POOL_SIZE,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=settings.TWILIO_HTTP_TIMEOUT,
            retries=3,
            backoff=getattr(settings, "TWILIO_HTTP_RETRY_BACKOFF", 0.5),
        ),
        messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID,
    )
    register_pool("twilio_http", client.pool_stats)
    return client
