"""Intake: the webhook, phone linking and verification, the outbox relay and the spool."""

from __future__ import annotations

import os

from smsgateway.settings.env import env_bool, env_float, env_int, env_list, env_str

# =============================================================================
# SMS intake and processing
# =============================================================================
SMS_WEBHOOK_PUBLIC_URL = env_str("SMS_WEBHOOK_PUBLIC_URL")
# Where Twilio posts delivery receipts of our sends (POST /api/sms/status), signed like the
# webhook over this exact URL. Unset: SMS_WEBHOOK_PUBLIC_URL with the path /api/sms/status;
# empty (or no public URL known): sends carry no status callback.
SMS_STATUS_CALLBACK_URL = env_str("SMS_STATUS_CALLBACK_URL")
if "SMS_STATUS_CALLBACK_URL" not in os.environ and SMS_WEBHOOK_PUBLIC_URL:
    from urllib.parse import urlsplit, urlunsplit

    _public = urlsplit(SMS_WEBHOOK_PUBLIC_URL)
    SMS_STATUS_CALLBACK_URL = urlunsplit((_public.scheme, _public.netloc, "/api/sms/status", "", ""))
SMS_RATE_LIMIT_PER_HOUR = env_int("SMS_RATE_LIMIT_PER_HOUR", 20)
SMS_MEDIA_MAX_BYTES = env_int("SMS_MEDIA_MAX_BYTES", 5 * 1024 * 1024)
SMS_MEDIA_ALLOWED_HOSTS = env_list(
    "SMS_MEDIA_ALLOWED_HOSTS",
    ["api.twilio.com", "media.twiliocdn.com", "s3-external-1.amazonaws.com"],
)
SMS_MEDIA_ALLOW_PRIVATE_IPS = env_bool("SMS_MEDIA_ALLOW_PRIVATE_IPS", False)
SMS_DEFAULT_REGION = env_str("SMS_DEFAULT_REGION", "US")

# =============================================================================
# Phone linking and verification
# =============================================================================
SMS_VERIFICATION_CODE_TTL = env_int("SMS_VERIFICATION_CODE_TTL", 600)  # seconds a code stays valid
SMS_VERIFICATION_MAX_ATTEMPTS = env_int("SMS_VERIFICATION_MAX_ATTEMPTS", 5)  # wrong codes before it is void
SMS_VERIFICATION_RESEND_COOLDOWN = env_int("SMS_VERIFICATION_RESEND_COOLDOWN", 60)  # seconds between codes
# SMS-pumping protection: codes sent per number per hour and per user per day.
SMS_VERIFICATION_MAX_PER_NUMBER_PER_HOUR = env_int("SMS_VERIFICATION_MAX_PER_NUMBER_PER_HOUR", 5)
SMS_VERIFICATION_MAX_PER_USER_PER_DAY = env_int("SMS_VERIFICATION_MAX_PER_USER_PER_DAY", 10)
# Worker retries of a code Twilio could not take: this many seconds, doubling, 3 times.
# Phone linking against enumeration and SMS pumping (sms/services/linking.py).
SMS_LINK_REQUESTS_PER_USER_PER_HOUR = env_int("SMS_LINK_REQUESTS_PER_USER_PER_HOUR", 10)
SMS_VERIFICATION_ALLOWED_COUNTRIES = env_list("SMS_VERIFICATION_ALLOWED_COUNTRIES", ["US", "CA"])
# phonenumbers' PhoneNumberType names. North American numbers cannot be told apart from their
# digits, so they are FIXED_LINE_OR_MOBILE; premium-rate, shared-cost and toll-free are refused.
SMS_VERIFICATION_ALLOWED_NUMBER_TYPES = [
    t.upper() for t in env_list("SMS_VERIFICATION_ALLOWED_NUMBER_TYPES", ["MOBILE", "FIXED_LINE_OR_MOBILE"])
]
SMS_VERIFICATION_GLOBAL_DAILY_LIMIT = env_int("SMS_VERIFICATION_GLOBAL_DAILY_LIMIT", 2000)
SMS_VERIFICATION_MAX_FAILURES_PER_NUMBER_PER_DAY = env_int("SMS_VERIFICATION_MAX_FAILURES_PER_NUMBER_PER_DAY", 10)
SMS_VERIFICATION_SEND_RETRY_DELAY = env_float("SMS_VERIFICATION_SEND_RETRY_DELAY", 15.0)

# =============================================================================
# Webhook intake (POST /api/sms/webhook)
# =============================================================================
# Bodies larger than this are refused with 413 before anything is parsed (Twilio posts a few KB).
SMS_WEBHOOK_MAX_BODY_BYTES = env_int("SMS_WEBHOOK_MAX_BODY_BYTES", 32 * 1024)
# Secret for webhooks signed with a Twilio SharedKey (X-Twilio-Webhooks-Signature-Settings);
# empty: the account auth token, which is what Twilio signs with by default.
TWILIO_WEBHOOK_SIGNING_SECRET = env_str("TWILIO_WEBHOOK_SIGNING_SECRET")
# With a signing key set: refuse webhooks signed with the auth token (once Twilio signs them all
# with the key).
SMS_WEBHOOK_REQUIRE_SIGNING_KEY = env_bool("SMS_WEBHOOK_REQUIRE_SIGNING_KEY", False)
# TwiML replies. An empty text answers with an empty <Response/>. The acknowledgement of a note
# is off by default: the confirmation is the one paid text per note (docs/DEPLOYMENT.md, "Costs").
SMS_ACK_REPLY = env_str("SMS_ACK_REPLY")
SMS_HELP_REPLY = env_str(
    "SMS_HELP_REPLY",
    "smsgateway: text a note, voice memo or photo to save it. Reply STOP to opt out, START to opt back in.",
)
SMS_OPT_IN_REPLY = env_str("SMS_OPT_IN_REPLY", "You're opted back in. Text us a note any time.")
SMS_UNKNOWN_SENDER_REPLY = env_str(
    "SMS_UNKNOWN_SENDER_REPLY",
    "This number isn't linked to an account yet. Add it under Settings > Phone in the app, then text again.",
)
SMS_UNVERIFIED_REPLY = env_str(
    "SMS_UNVERIFIED_REPLY",
    "Your number isn't verified yet. Enter the code we texted you in the app (or request a new one), then text again.",
)
# Link/verify instructions go to a number at most once per this many seconds.
SMS_INSTRUCTIONS_INTERVAL = env_int("SMS_INSTRUCTIONS_INTERVAL", 24 * 3600)

# =============================================================================
# Outbox relay and intake spool (sms/relay.py, sms/spool.py; manage.py sms_relay)
# =============================================================================
# Messages handed to the broker per transaction.
SMS_RELAY_BATCH_SIZE = env_int("SMS_RELAY_BATCH_SIZE", 100)
# Longest wait between passes; new messages wake the relay at once (LISTEN/NOTIFY on PostgreSQL).
SMS_RELAY_POLL_SECONDS = env_float("SMS_RELAY_POLL_SECONDS", 1.0)
# LISTEN for the insert trigger's NOTIFY. Off: poll only (behind PgBouncer in transaction
# mode, where a session's LISTEN does not survive; measured in docs/PERFORMANCE.md).
SMS_RELAY_LISTEN = env_bool("SMS_RELAY_LISTEN", True)
# How often the sweep looks for expired leases and messages lost after the hand-over.
SMS_RELAY_SWEEP_SECONDS = env_float("SMS_RELAY_SWEEP_SECONDS", 10.0)
# A message handed to the broker this long ago and never claimed is handed out again.
SMS_RELAY_REQUEUE_SECONDS = env_int("SMS_RELAY_REQUEUE_SECONDS", 60)
# A spooled entry a relay took but did not write within this many seconds goes back to the spool.
SMS_SPOOL_INFLIGHT_SECONDS = env_int("SMS_SPOOL_INFLIGHT_SECONDS", 60)
# Touched after each relay pass that succeeded (smsgateway/heartbeat.py): what the relay
# container's health check reads. Empty: no file.
SMS_RELAY_HEARTBEAT_FILE = env_str("SMS_RELAY_HEARTBEAT_FILE")
