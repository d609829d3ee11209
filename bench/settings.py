"""Bench-only settings: production settings plus a URLconf with a bare TwiML view to compare with."""

import os

from smsgateway.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Fixed signed URL, so requests can be signed before the server (and its port) exists.
SMS_WEBHOOK_PUBLIC_URL = "https://bench.example.com/api/sms/webhook"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# wrk speaks plain http. The webhook answers before SecurityMiddleware (sms/middleware.py); the
# bare view must not be answered by its https redirect either, but pass the whole middleware
# stack to the view, as an https request behind the proxy does.
SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^bench/"]  # noqa: F405
from smsgateway.settings.base import LOGGING as _BASE_LOGGING  # noqa: E402

# Per-request INFO lines would be measured too.
LOGGING = {**_BASE_LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}

# bench/db_metrics_cost.py: the same settings with django-prometheus' instrumented engine.
if os.environ.get("BENCH_DB_METRICS") == "1":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"  # noqa: F405
