"""Production settings: secrets come from the environment and have no defaults.

Importing this module without one of them raises ImproperlyConfigured naming the variable,
so a misconfigured deployment fails at boot instead of on a request.
"""

import os

from django.core.exceptions import ImproperlyConfigured

REQUIRED_ENV = (
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
)

_missing = [name for name in REQUIRED_ENV if not os.environ.get(name, "").strip()]
if _missing:
    raise ImproperlyConfigured("Production settings need these environment variables: " + ", ".join(_missing))

# The public placeholders are anyone's credentials; /metrics names internals. Refuse both.
if os.environ["TWILIO_AUTH_TOKEN"].strip() == "dev-auth-token" or set(os.environ["TWILIO_ACCOUNT_SID"].strip()[2:]) == {
    "0"
}:
    raise ImproperlyConfigured("Production settings refuse the placeholder TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN")
if not (os.environ.get("METRICS_BEARER_TOKEN", "").strip() or os.environ.get("METRICS_ALLOWED_IPS", "").strip()):
    raise ImproperlyConfigured(
        "Production settings need METRICS_BEARER_TOKEN or METRICS_ALLOWED_IPS: /metrics is never open in production"
    )

from .base import *  # noqa: E402, F403
from .base import GEMINI_API_KEY, SMS_EXTRACTOR_CLASS, env_bool, env_int  # noqa: E402
from .base import MIDDLEWARE as _BASE_MIDDLEWARE  # noqa: E402

# The Gemini tier named without a key would fail every message: refuse to boot instead.
if SMS_EXTRACTOR_CLASS == "sms.extraction.gemini.GeminiExtractor" and not GEMINI_API_KEY:
    raise ImproperlyConfigured("SMS_EXTRACTOR_CLASS names the Gemini tier: production needs GEMINI_API_KEY")

DEBUG = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600)
# Plain http is redirected to https, except what load balancers and scrapers call over the
# private network. Twilio's webhook answers before this middleware (sms/middleware.py). Where the
# proxy in front already redirects, DJANGO_SSL_REDIRECT=false (the deploy check then knows why).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^api/sms/performance/health/?$", r"^metrics$", r"^healthz$", r"^readyz$"]
# Whether every subdomain is https-only, and whether to ask browsers to preload, is the
# domain owner's call, not the app's: off unless set. The deploy check is told so.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_SSL_REDIRECT else ["security.W008"]),
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]

# WhiteNoise serves the admin's static files (collected at image build) from gunicorn.
# Right after SecurityMiddleware, as WhiteNoise asks; the webhook's short path and
# django-prometheus' outer middleware stay first.
_SECURITY = "django.middleware.security.SecurityMiddleware"
_AT = _BASE_MIDDLEWARE.index(_SECURITY) + 1
MIDDLEWARE = [*_BASE_MIDDLEWARE[:_AT], "whitenoise.middleware.WhiteNoiseMiddleware", *_BASE_MIDDLEWARE[_AT:]]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
