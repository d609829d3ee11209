"""Credential guessing: how many wrong passwords, from whom, for how long (django-axes).

Every password check (the admin login, the browsable API's login, ``POST /api/auth/token``)
goes through Django's ``authenticate``, which django-axes watches. Failures count per username
and, separately, per client address. The admin is stricter: 5 failures lock for 30 minutes;
elsewhere 10 failures within 15 minutes answer 429 until the window has passed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def _is_admin(request: HttpRequest | None) -> bool:
    return request is not None and request.path.startswith("/admin/")


def failure_limit(request: HttpRequest, credentials: Any) -> int:
    return settings.LOCKOUT_ADMIN_FAILURES if _is_admin(request) else settings.LOCKOUT_FAILURES


def cool_off(request: HttpRequest | None) -> timedelta:
    minutes = settings.LOCKOUT_ADMIN_MINUTES if _is_admin(request) else settings.LOCKOUT_MINUTES
    return timedelta(minutes=minutes)


def is_locked_out(request: HttpRequest, username: str) -> bool:
    """For views that check passwords outside Django's auth forms (DRF's token endpoint, whose
    wrapped request hides axes' own lockout flag from its middleware)."""
    from axes.handlers.proxy import AxesProxyHandler

    return bool(AxesProxyHandler.is_locked(request, {"username": username}))


def client_address(request: HttpRequest) -> str | None:
    """The address the failures count against: the connecting peer, or behind a proxy we trust
    (``DJANGO_TRUST_PROXY_HEADERS``) the address that proxy saw, the last ``X-Forwarded-For``
    entry. Entries further left are the client's own claims and are never used."""
    if settings.TRUST_PROXY_HEADERS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")
