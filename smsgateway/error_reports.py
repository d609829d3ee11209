"""What Django's debug page and error e-mails may show of the settings.

Django already hides names with API, AUTH, TOKEN, KEY, SECRET, PASS or SIGNATURE in them. Our
connection URLs carry passwords too (``DATABASE_URL``, ``REDIS_URL``, the cache ``LOCATION``,
``CELERY_BROKER_URL``), so anything named like a URL, location or DSN is hidden as well.
"""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class SettingsSafeReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile("API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|LOCATION|DSN", flags=re.I)
