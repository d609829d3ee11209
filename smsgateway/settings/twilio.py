"""Twilio: credentials, the sending number or Messaging Service, keyword replies."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from smsgateway.settings.env import env_bool, env_float, env_int, env_str

# =============================================================================
# Twilio
# =============================================================================
# Public placeholders for the embedded default: outside DEBUG no webhook accepts a signature made
# with them (sms/webhook/signature.py), and production refuses to boot with them.
TWILIO_PLACEHOLDER_ACCOUNT_SID = "AC00000000000000000000000000000000"
TWILIO_PLACEHOLDER_AUTH_TOKEN = "dev-auth-token"
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID") or TWILIO_PLACEHOLDER_ACCOUNT_SID
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN") or TWILIO_PLACEHOLDER_AUTH_TOKEN
TWILIO_PHONE_NUMBER = env_str("TWILIO_PHONE_NUMBER") or "+15005550006"
# "twilio" sends through the REST API; "console" writes each SMS to the log instead (the
# default when no TWILIO_AUTH_TOKEN is set, as on the embedded default).
SMS_BACKEND = env_str("SMS_BACKEND") or ("twilio" if env_str("TWILIO_AUTH_TOKEN") else "console")
if SMS_BACKEND not in ("twilio", "console"):
    raise ImproperlyConfigured(f"SMS_BACKEND must be 'twilio' or 'console', not {SMS_BACKEND!r}")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com").rstrip("/")
TWILIO_HTTP_TIMEOUT = env_float("TWILIO_HTTP_TIMEOUT", 10.0)
TWILIO_HTTP_POOL_SIZE = env_int("TWILIO_HTTP_POOL_SIZE", 10)
TWILIO_HTTP_RETRY_BACKOFF = env_float("TWILIO_HTTP_RETRY_BACKOFF", 0.5)
# Send through this Messaging Service (MG…) instead of From=TWILIO_PHONE_NUMBER: what US A2P
# 10DLC registration and Advanced Opt-Out work through.
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID")
# Refuse (403) inbound messages whose MessagingServiceSid is not TWILIO_MESSAGING_SERVICE_SID.
SMS_WEBHOOK_REQUIRE_MESSAGING_SERVICE = env_bool("SMS_WEBHOOK_REQUIRE_MESSAGING_SERVICE", False)
# Twilio answers STOP, START and HELP itself (its default, and Advanced Opt-Out's): while on,
# we record the keyword but reply nothing, so the sender never gets two answers.
SMS_TWILIO_HANDLES_KEYWORD_REPLIES = env_bool("SMS_TWILIO_HANDLES_KEYWORD_REPLIES", True)
