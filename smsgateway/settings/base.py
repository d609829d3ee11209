"""Settings shared by every environment.

Everything configurable is read from the environment here, in one place. With no
``DATABASE_URL`` / ``REDIS_URL`` the service runs on its embedded default: SQLite, an
in-process cache and eager Celery tasks. ``production.py`` refuses to boot without secrets.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


# =============================================================================
# Core
# =============================================================================
# Development-only fallback; production.py requires DJANGO_SECRET_KEY.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-dev-key-change-me-0123456789abcdefghijklmnop")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django_prometheus",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "cachalot",
    "axes",
    "performance",
    "sms",
    "loadtesting",
]

MIDDLEWARE = [
    # First: the webhook answers here and skips the rest (sms/middleware.py).
    "sms.middleware.WebhookFastPathMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last before the metrics: answers 429 to a client or username locked out (smsgateway/lockout.py).
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Credential guessing (django-axes; smsgateway/lockout.py) ---
LOCKOUT_FAILURES = env_int("LOCKOUT_FAILURES", 10)  # per username or address, API and API login
LOCKOUT_MINUTES = env_int("LOCKOUT_MINUTES", 15)
LOCKOUT_ADMIN_FAILURES = env_int("LOCKOUT_ADMIN_FAILURES", 5)
LOCKOUT_ADMIN_MINUTES = env_int("LOCKOUT_ADMIN_MINUTES", 30)
AXES_FAILURE_LIMIT = "smsgateway.lockout.failure_limit"
AXES_COOLOFF_TIME = "smsgateway.lockout.cool_off"
AXES_CLIENT_IP_CALLABLE = "smsgateway.lockout.client_address"
# Separately per username and per address: one address guessing many usernames is stopped,
# and so are many addresses guessing one username.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The failure that reaches the limit locks: the admin answers it 429 at once, the token API
# (smsgateway/auth_api.py) from the next attempt on.
AXES_LOCK_OUT_AT_FAILURE = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

ROOT_URLCONF = "smsgateway.urls"
# The debug page and error reports never show connection URLs (they carry passwords).
DEFAULT_EXCEPTION_REPORTER_FILTER = "smsgateway.error_reports.SettingsSafeReporterFilter"
WSGI_APPLICATION = "smsgateway.wsgi.application"
ASGI_APPLICATION = "smsgateway.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# Requests larger than this are refused before parsing (Twilio posts a few KB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024)

# =============================================================================
# Proxies
# =============================================================================
# Only when the service sits behind a proxy we control may X-Forwarded-Proto decide
# whether the request was https (it changes the URL Twilio's signature covers).
TRUST_PROXY_HEADERS = env_bool("DJANGO_TRUST_PROXY_HEADERS", False)
if TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

# =============================================================================
# Database
# =============================================================================
DATABASE_URL = env_str("DATABASE_URL")
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 600)
DB_POOL = env_bool("DB_POOL", False)
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 1)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 4)
DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 5.0)
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5)
DB_APPLICATION_NAME = env_str("DB_APPLICATION_NAME", "smsgateway")
# psycopg 3 server-side binding + prepared statements after N executions (docs/PERFORMANCE.md):
# measured faster (docs/PERFORMANCE.md), so on by default. Behind PgBouncer in transaction
# mode set DB_SERVER_SIDE_BINDING=false and DB_PREPARE_THRESHOLD=0.
DB_SERVER_SIDE_BINDING = env_bool("DB_SERVER_SIDE_BINDING", True)
DB_PREPARE_THRESHOLD = env_int("DB_PREPARE_THRESHOLD", 2)


def database_config(url: str) -> dict[str, object]:
    """Build the default DATABASES entry from a URL (PostgreSQL) or the SQLite default."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "var" / "db.sqlite3",
            "OPTIONS": {"timeout": 20},
        }
    config: dict[str, object] = dict(dj_database_url.parse(url))
    if config["ENGINE"] != "django.db.backends.postgresql":
        return config
    options: dict[str, object] = {
        "connect_timeout": DB_CONNECT_TIMEOUT,
        "application_name": DB_APPLICATION_NAME,
    }
    if DB_SERVER_SIDE_BINDING:
        options["server_side_binding"] = True
    if DB_PREPARE_THRESHOLD > 0:
        options["prepare_threshold"] = DB_PREPARE_THRESHOLD
    if DB_POOL:
        # Django's own psycopg_pool integration: one pool per process; connections are
        # returned to it at the end of each request. CONN_MAX_AGE must be 0 with a pool.
        options["pool"] = {
            "min_size": DB_POOL_MIN_SIZE,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": DB_POOL_TIMEOUT,
        }
        config["CONN_MAX_AGE"] = 0
    else:
        config["CONN_MAX_AGE"] = DB_CONN_MAX_AGE
        config["CONN_HEALTH_CHECKS"] = True
    config["OPTIONS"] = options
    return config


DATABASES = {"default": database_config(DATABASE_URL)}

# =============================================================================
# Cache (Redis through django-redis, or the in-process default)
# =============================================================================
REDIS_URL = env_str("REDIS_URL")
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 50)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 0.5)
REDIS_CONNECT_TIMEOUT = env_float("REDIS_CONNECT_TIMEOUT", 0.5)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "smsgw",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # hiredis is picked up by redis-py automatically when installed.
                "CONNECTION_POOL_KWARGS": {"max_connections": REDIS_MAX_CONNECTIONS},
                "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "smsgateway-default",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# Named caches (performance.caches.named_cache): TTLs in seconds.
CACHE_PHONE_LOOKUP_TTL = env_int("CACHE_PHONE_LOOKUP_TTL", 900)
CACHE_VERIFICATION_TTL = env_int("CACHE_VERIFICATION_TTL", 300)
CACHE_RATE_LIMIT_TTL = env_int("CACHE_RATE_LIMIT_TTL", 60)

# django-cachalot: ORM read caching for read-mostly tables only. Messages, media and
# enrichment items are written on every request and must never be cached here; phone
# numbers have their own explicitly invalidated named cache.
CACHALOT_ENABLED = env_bool("CACHALOT_ENABLED", True)
CACHALOT_TIMEOUT = env_int("CACHALOT_TIMEOUT", 3600)
CACHALOT_ONLY_CACHABLE_TABLES = frozenset(
    {
        "auth_user",
        "auth_group",
        "auth_permission",
        "auth_user_groups",
        "auth_user_user_permissions",
        "auth_group_permissions",
        "knox_authtoken",
        "django_content_type",
    }
)
CACHALOT_UNCACHABLE_APPS = frozenset({"sms", "performance", "sessions", "admin"})
# Our raw SQL (the webhook's INSERT, the processing claim) writes only uncachable tables, so
# cachalot need not parse it: that parse (every Django table name searched in the SQL) cost
# about 0.2 ms of each webhook request (docs/PERFORMANCE.md). Raw SQL must never write a
# cachable table above.
CACHALOT_INVALIDATE_RAW = False

# =============================================================================
# Celery
# =============================================================================
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not (REDIS_URL or env_str("CELERY_BROKER_URL")))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A task whose worker died is redelivered rather than dropped.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_DEFAULT_QUEUE = "sms"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Must exceed the longest task so acks_late redelivery does not duplicate live work.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # How often a worker sweeps for messages of dead workers older than visibility_timeout
    # (roughly interval x throttle seconds).
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery beat: periodic clean-up of stale temp files and media past retention.
CELERY_BEAT_SCHEDULE = {
    "sms-cleanup-media": {
        "task": "sms.tasks.cleanup_media",
        "schedule": float(env_int("SMS_CLEANUP_MEDIA_INTERVAL_SECONDS", 3600)),
    },
}
# Beat touches BEAT_HEARTBEAT_FILE on every tick (smsgateway/heartbeat.py), at least every
# CELERY_BEAT_MAX_LOOP_INTERVAL seconds: what its container health check reads. Empty: no file.
CELERY_BEAT_SCHEDULER = "smsgateway.heartbeat.HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 30
BEAT_HEARTBEAT_FILE = env_str("BEAT_HEARTBEAT_FILE")

# =============================================================================
# Twilio
# =============================================================================
# Public placeholders for the embedded default: outside DEBUG no webhook accepts a signature made
# with them (sms/signature.py), and production refuses to boot with them.
TWILIO_PLACEHOLDER_ACCOUNT_SID = "AC00000000000000000000000000000000"
TWILIO_PLACEHOLDER_AUTH_TOKEN = "dev-auth-token"
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", TWILIO_PLACEHOLDER_ACCOUNT_SID)
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", TWILIO_PLACEHOLDER_AUTH_TOKEN)
TWILIO_PHONE_NUMBER = env_str("TWILIO_PHONE_NUMBER", "+15005550006")
# "twilio" sends through the REST API; "console" writes each SMS to the log instead (the
# default when no TWILIO_AUTH_TOKEN is set, as on the embedded default).
SMS_BACKEND = env_str("SMS_BACKEND", "twilio" if env_str("TWILIO_AUTH_TOKEN") else "console")
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

# =============================================================================
# Speech-to-Text
# =============================================================================
SPEECH_API_ENDPOINT = env_str("SPEECH_API_ENDPOINT")
SPEECH_LANGUAGE_CODE = env_str("SPEECH_LANGUAGE_CODE", "en-US")
# Bounded client pool; every recognize call has an explicit timeout and retry policy.
SPEECH_POOL_SIZE = env_int("SPEECH_POOL_SIZE", 4)
SPEECH_POOL_TIMEOUT = env_float("SPEECH_POOL_TIMEOUT", 10.0)
SPEECH_TIMEOUT = env_float("SPEECH_TIMEOUT", 30.0)
SPEECH_RETRY_DEADLINE = env_float("SPEECH_RETRY_DEADLINE", 60.0)
# Synchronous recognition takes at most ~1 minute of audio; longer notes are split.
SPEECH_MAX_CHUNK_SECONDS = env_float("SPEECH_MAX_CHUNK_SECONDS", 55.0)

# =============================================================================
# Processing pipeline (sms/services/processing.py, sms/clients/media.py, speech.py)
# =============================================================================
# Media download: connect/read timeouts per request, an overall deadline per message, and the
# delays before re-asking for media that Twilio answers 404 right after delivery.
SMS_MEDIA_CONNECT_TIMEOUT = env_float("SMS_MEDIA_CONNECT_TIMEOUT", 3.05)
SMS_MEDIA_READ_TIMEOUT = env_float("SMS_MEDIA_READ_TIMEOUT", 10.0)
SMS_MEDIA_DEADLINE = env_float("SMS_MEDIA_DEADLINE", 60.0)
SMS_MEDIA_NOT_FOUND_RETRY_DELAYS = [float(x) for x in env_list("SMS_MEDIA_NOT_FOUND_RETRY_DELAYS", ["1", "3"])]
SMS_MEDIA_POOL_SIZE = env_int("SMS_MEDIA_POOL_SIZE", 10)
# Downloads land here (system temp dir when empty) and are removed in every outcome.
SMS_MEDIA_TEMP_DIR = env_str("SMS_MEDIA_TEMP_DIR")
# Stored images/videos and stale temp files older than this are removed by cleanup_media.
SMS_MEDIA_RETENTION_DAYS = env_int("SMS_MEDIA_RETENTION_DAYS", 30)
SMS_MEDIA_TEMP_MAX_AGE_SECONDS = env_int("SMS_MEDIA_TEMP_MAX_AGE_SECONDS", 3600)
# Delete the media from Twilio's storage once a message is processed.
SMS_DELETE_TWILIO_MEDIA = env_bool("SMS_DELETE_TWILIO_MEDIA", True)
# Retries of transient failures: up to this many, after BACKOFF * 2**n seconds (+ jitter).
SMS_PROCESSING_MAX_RETRIES = env_int("SMS_PROCESSING_MAX_RETRIES", 3)
# A claim is a lease of this many seconds, renewed while the worker lives; the relay's sweep
# hands out again a message whose lease ran out (a dead worker): within lease + sweep seconds.
SMS_PROCESSING_LEASE_SECONDS = env_int("SMS_PROCESSING_LEASE_SECONDS", 60)
SMS_PROCESSING_RETRY_BACKOFF = env_float("SMS_PROCESSING_RETRY_BACKOFF", 10.0)
SMS_EXTRACTOR_CLASS = env_str("SMS_EXTRACTOR_CLASS", "sms.extraction.DefaultExtractor")
# Replies: the confirmation can be turned off; {count}, {items} and {source} are filled in.
SMS_CONFIRMATION_ENABLED = env_bool("SMS_CONFIRMATION_ENABLED", True)
# An empty value (as in .env.example) means the default wording.
SMS_CONFIRMATION_TEXT = (
    env_str("SMS_CONFIRMATION_TEXT") or "Saved {count} {items} from your {source} — review them in the app"
)
SMS_FAILURE_REPLIES_ENABLED = env_bool("SMS_FAILURE_REPLIES_ENABLED", True)
# Voice notes longer than this are refused before transcoding (declared or decoded length).
SMS_AUDIO_MAX_SECONDS = env_int("SMS_AUDIO_MAX_SECONDS", 300)
# Items stored per message, and contacts read per vCard file (the rest are dropped, logged).
SMS_MAX_ITEMS_PER_MESSAGE = env_int("SMS_MAX_ITEMS_PER_MESSAGE", 50)
SMS_MAX_CONTACTS_PER_VCARD = env_int("SMS_MAX_CONTACTS_PER_VCARD", 20)
# Speech seconds one user may use per UTC day (0: unlimited); over it a voice note fails.
SMS_SPEECH_SECONDS_PER_USER_PER_DAY = env_int("SMS_SPEECH_SECONDS_PER_USER_PER_DAY", 3600)
# Failure replies by kind; override in a settings module to reword them.
SMS_FAILURE_REPLIES = {
    "too_large": "Sorry, that message was too large to save (the limit is 5 MB). Try a shorter recording or fewer photos.",
    "unsupported": "Sorry, we can't read that kind of attachment. Try a photo, a voice note or a contact card.",
    "could_not_transcribe": "Sorry, we couldn't make out that voice note. Try recording it again somewhere quieter.",
    "audio_too_long": "That voice note is too long for us. Please send a shorter one.",
    "speech_budget": "You've sent a lot of voice notes today, so this one wasn't transcribed. Try again tomorrow.",
    "temporary": "Sorry, we had a temporary problem saving that message. Please send it again in a few minutes.",
}

# =============================================================================
# Metrics
# =============================================================================
# Set by gunicorn.conf.py (or the environment) before prometheus_client is imported.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
PROMETHEUS_EXPORT_MIGRATIONS = False

# =============================================================================
# Performance pages, health and /metrics access
# =============================================================================
# Seconds between each process's pool snapshot in Redis (0 disables the publisher thread).
PERFORMANCE_SNAPSHOT_INTERVAL = env_float("PERFORMANCE_SNAPSHOT_INTERVAL", 10.0)
# Seconds each health check (PostgreSQL, Redis, broker) may take before it counts as failing.
PERFORMANCE_HEALTH_TIMEOUT = env_float("PERFORMANCE_HEALTH_TIMEOUT", 2.0)
# A process answers health from its last result this long: a flood of health requests then
# costs no database or Redis connections the webhook needs.
PERFORMANCE_HEALTH_CACHE_SECONDS = env_float("PERFORMANCE_HEALTH_CACHE_SECONDS", 2.0)
# Apps whose tables the database page reports (size, rows, index scans).
PERFORMANCE_DATABASE_APPS = env_list("PERFORMANCE_DATABASE_APPS", ["sms", "performance"])
# /metrics: open when both are empty; else the client address must be in the allowlist
# (addresses or CIDR networks) or send "Authorization: Bearer <token>".
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
METRICS_BEARER_TOKEN = env_str("METRICS_BEARER_TOKEN")

# =============================================================================
# REST framework
# =============================================================================
# API tokens (smsgateway/tokens.py): stored as a hash, valid API_TOKEN_TTL_HOURS after their last
# use (each use extends them, never beyond 30 days), revoked when the password changes.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 24)),
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": timedelta(days=30),
    "TOKEN_LIMIT_PER_USER": 20,
}
REST_FRAMEWORK = {
    # Token first: a caller without valid credentials gets 401 with a "Token" challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "smsgateway API",
    "DESCRIPTION": "Phone linking, enrichment review and performance endpoints.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI / Redoc assets served by us (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# =============================================================================
# Logging
# =============================================================================
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Security events (forged signatures, foreign accounts) go to their own logger.
        "sms.security": {"level": "INFO"},
        # The Twilio SDK logs every request's URL and headers at INFO: ten lines per SMS sent.
        "twilio.http_client": {"level": "WARNING"},
    },
}
