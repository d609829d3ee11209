"""Django core: apps, middleware, security, proxies, the API and logging."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from smsgateway.settings.env import BASE_DIR, env_bool, env_int, env_list, env_str

# =============================================================================
# Core
# =============================================================================
# Development-only fallback; production.py requires DJANGO_SECRET_KEY.
# A blank value (an env file's "DJANGO_SECRET_KEY=") is unset, here and below where a blank
# would be no usable value.
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or "insecure-dev-key-change-me-0123456789abcdefghijklmnop"
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
    # The project's own system checks (smsgateway/checks.py).
    "smsgateway.apps.SmsgatewayConfig",
]

MIDDLEWARE = [
    # First: /healthz and /readyz answer for any Host header and never redirect
    # (performance/probes.py).
    "performance.probes.ProbeMiddleware",
    # Then the webhook answers here and skips the rest (sms/middleware.py).
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
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT") or BASE_DIR / "var" / "media")

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
    # Domain errors (sms.exceptions.SmsError) answer with their status and {"code", "detail"}.
    "EXCEPTION_HANDLER": "sms.api.common.api_exception_handler",
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
    # Each operation of a path shared by several (sms.api.common.MethodDispatcher) is listed, and
    # the slashless aliases of the performance API are not.
    "PREPROCESSING_HOOKS": [
        "sms.api.common.method_dispatchers_expand",
        "performance.api.schema.slashless_aliases_drop",
    ],
}

# =============================================================================
# Logging
# =============================================================================
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# plain: one human-readable line; json: one JSON object per line (smsgateway/logs.py). Both carry
# the MessageSid, message id and Celery task id of the message being handled.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}")
if LOG_FORMAT == "json":
    import logging as _logging

    # Python warnings become log records (py.warnings), so they are JSON lines too.
    _logging.captureWarnings(True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "smsgateway.logs.ContextFilter"},
        "numbers_mask": {"()": "smsgateway.logs.NumbersMaskFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s%(context)s"},
        "json": {"()": "smsgateway.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # runserver's request lines in the same format (gunicorn's access log: gunicorn.conf.py).
        "django.server": {
            "handlers": ["console"],
            "filters": ["numbers_mask"],
            "level": "INFO",
            "propagate": False,
        },
        # "Not Found: <path>" and the like: a path may carry a number.
        "django.request": {"filters": ["numbers_mask"]},
        "django.db.backends": {"level": "WARNING"},
        # Security events (forged signatures, foreign accounts) go to their own logger.
        "sms.security": {"level": "INFO"},
        # The Twilio SDK logs every request's URL and headers at INFO: ten lines per SMS sent.
        "twilio.http_client": {"level": "WARNING"},
        # google-genai's transport logs every request line at INFO; our client logs what matters.
        "httpx2": {"level": "WARNING"},
    },
}
