"""Test settings: real PostgreSQL and Redis (never mocks), on a Redis DB index of their own.

DATABASE_URL / REDIS_URL may be overridden so that several checkouts can test side by side
(pytest-django creates ``test_<name>`` from the database named here).
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsgateway")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("TWILIO_ACCOUNT_SID", "AC" + "a" * 32)
os.environ.setdefault("TWILIO_AUTH_TOKEN", "test-auth-token-0123456789abcdef")
os.environ.setdefault("TWILIO_PHONE_NUMBER", "+15005550006")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# Nothing listens on the discard port: a test that forgets its fake gets "connection refused"
# at once instead of trying the real Twilio/Google (which the network guard refuses anyway).
os.environ.setdefault("TWILIO_API_BASE_URL", "http://127.0.0.1:9")
os.environ.setdefault("SPEECH_API_ENDPOINT", "http://127.0.0.1:9")
os.environ.setdefault("GEMINI_BASE_URL", "http://127.0.0.1:9")
# A developer's own Gemini key must not switch the suite to the Gemini tier: tests that want it
# select it with the Gemini fake (sms/tests/conftest.py).
os.environ["GEMINI_API_KEY"] = ""
# No background snapshot thread in the test process; live servers turn it on themselves.
os.environ.setdefault("PERFORMANCE_SNAPSHOT_INTERVAL", "0")
# Tests that take a dependency down read health again at once; the caching test turns it on.
os.environ.setdefault("PERFORMANCE_HEALTH_CACHE_SECONDS", "0")

from .base import *  # noqa: F403
from .base import BASE_DIR

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
ALLOWED_HOSTS = ["*"]
TWILIO_HTTP_RETRY_BACKOFF = 0.01
