"""Production settings plus the bench URLconf (bench-only views, never in the app's urls)."""

from smsgateway.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.dbconn.urls"
