"""The debug page and error reports never show connection URLs with their passwords."""

from __future__ import annotations

import uuid

from django.test import RequestFactory
from django.views.debug import ExceptionReporter, get_default_exception_reporter_filter


def _fail() -> None:
    raise RuntimeError("boom")


def _debug_page() -> str:
    """The debug page of an error raised here (its frames hold no secret of their own)."""
    try:
        _fail()
    except RuntimeError as exc:
        return ExceptionReporter(RequestFactory().get("/"), type(exc), exc, exc.__traceback__).get_traceback_html()
    raise AssertionError("unreachable")


def test_connection_urls_are_hidden_from_the_debug_page(settings) -> None:
    # Built at run time: the page shows source lines, and a literal there would show up too.
    secret = uuid.uuid4().hex
    settings.DATABASE_URL = f"postgres://app:{secret}@db.internal:5432/sms"
    settings.REDIS_URL = f"redis://:{secret}@cache.internal:6379/0"
    settings.CELERY_BROKER_URL = f"redis://:{secret}@cache.internal:6379/1"
    reporter_filter = get_default_exception_reporter_filter()
    safe = reporter_filter.get_safe_settings()
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        assert secret not in str(safe[name]), name
    caches = reporter_filter.cleanse_setting("CACHES", {"default": {"LOCATION": f"redis://:{secret}@cache:6379/0"}})
    assert secret not in str(caches)
    assert secret not in _debug_page()
