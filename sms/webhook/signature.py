"""Validation of Twilio's webhook signature (docs/ARCHITECTURE.md, "The intake path").

The signed URL is the one configured in Twilio: ``SMS_WEBHOOK_PUBLIC_URL`` when set (plus the
request's query string when the setting has none), else the absolute request URL, which
honours ``X-Forwarded-Proto``/``X-Forwarded-Host`` only when ``DJANGO_TRUST_PROXY_HEADERS``
is on. The SDK's validator tries the URL with and without the default port, as Twilio signs
either. ``X-Twilio-Webhooks-Signature-Settings`` selects HMAC-SHA256 where the SDK supports it.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from django.conf import settings
from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    add_port,
    compare,
    get_signature_algorithm,
    remove_port,
)

from performance import metrics
from sms.exceptions import SmsError
from sms.masking import mask_phone


class SignatureError(SmsError, code="bad_signature", status_code=403):
    """The request is not signed by our Twilio account."""


def webhook_url(request: HttpRequest, public_url: str | None = None) -> str:
    """The URL Twilio signed for this request: ``public_url`` (default SMS_WEBHOOK_PUBLIC_URL)
    when set, else the request's own."""
    public = settings.SMS_WEBHOOK_PUBLIC_URL if public_url is None else public_url
    if public:
        query = request.META.get("QUERY_STRING", "")
        if query and "?" not in public:
            return f"{public}?{query}"
        return public
    return request.build_absolute_uri()


def signature_verify(request: HttpRequest, params: MultiValueDict[str, str], *, public_url: str | None = None) -> None:
    """Raise SignatureError unless ``params`` were signed by Twilio for this URL, with our account.

    ``public_url`` is the URL configured in Twilio for this endpoint (default: the webhook's)."""
    if not settings.DEBUG and (
        settings.TWILIO_AUTH_TOKEN == settings.TWILIO_PLACEHOLDER_AUTH_TOKEN
        or settings.TWILIO_ACCOUNT_SID == settings.TWILIO_PLACEHOLDER_ACCOUNT_SID
    ):
        # Anyone can sign with the public placeholder token: only the embedded default (DEBUG) may.
        raise SignatureError("placeholder Twilio credentials", code="placeholder_credentials")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        raise SignatureError("missing signature", code="missing_signature")
    settings_header = request.headers.get(SIGNATURE_SETTINGS_HEADER, "")
    algorithm = get_signature_algorithm(settings_header)
    secret = settings.TWILIO_AUTH_TOKEN
    if settings_header and settings.TWILIO_WEBHOOK_SIGNING_SECRET:
        secret = settings.TWILIO_WEBHOOK_SIGNING_SECRET
    elif settings.TWILIO_WEBHOOK_SIGNING_SECRET and settings.SMS_WEBHOOK_REQUIRE_SIGNING_KEY:
        # Once every webhook is signed with the SharedKey, an auth-token signature is someone
        # who holds (or held) the auth token, not Twilio.
        raise SignatureError("signed with the auth token, not the signing key", code="auth_token_signature")
    if not _is_signed(RequestValidator(secret), webhook_url(request, public_url), params, signature, algorithm):
        raise SignatureError("invalid signature", code="invalid_signature")
    if params.get("AccountSid", "") != settings.TWILIO_ACCOUNT_SID:
        raise SignatureError("foreign account", code="foreign_account")


def messaging_service_verify(params: MultiValueDict[str, str]) -> None:
    """With ``SMS_WEBHOOK_REQUIRE_MESSAGING_SERVICE``, raise SignatureError unless the message
    came through our Messaging Service (``TWILIO_MESSAGING_SERVICE_SID``)."""
    if not (settings.SMS_WEBHOOK_REQUIRE_MESSAGING_SERVICE and settings.TWILIO_MESSAGING_SERVICE_SID):
        return
    if params.get("MessagingServiceSid", "") != settings.TWILIO_MESSAGING_SERVICE_SID:
        raise SignatureError("foreign messaging service", code="foreign_messaging_service")


def _is_signed(
    validator: RequestValidator, url: str, params: MultiValueDict[str, str], signature: str, algorithm: str
) -> bool:
    """The SDK's ``validate`` for a form body, computing the second HMAC only when the first
    URL form does not match: Twilio signs the URL without or with the default port, and the
    SDK always computes both (measured 0.1 ms of every request, docs/PERFORMANCE.md)."""
    parsed = urlparse(url)
    for candidate in (remove_port(parsed), add_port(parsed)):
        try:
            expected = validator.compute_signature(candidate, params, algorithm)
        except ValueError:  # an algorithm this SDK does not know
            return False
        if compare(expected, signature):
            return True
    return False


security_logger = logging.getLogger("sms.security")


def signature_refusal_record(
    exc: SignatureError, request: HttpRequest, *, what: str, number_field: str, number: str | None
) -> None:
    """Count a refused request and log it on the security logger, with the number masked."""
    metrics.SIGNATURE_FAILURES.labels(exc.code).inc()
    security_logger.warning(
        "%s refused (%s): %s=%s ip=%s",
        what,
        exc.code,
        number_field,
        mask_phone(number),
        request.META.get("REMOTE_ADDR", ""),
    )
