"""The webhook's own short path through Django's middleware.

Twilio's webhook needs none of the middleware the admin and the API need: it has no session,
no user, no messages, no CSRF token (it is signed instead) and is never framed. Listed first in
``MIDDLEWARE``, this answers ``POST /api/sms/webhook`` by calling the view directly, so an
intake request skips the rest of the stack, and the per-request connection health check; every
other request passes through untouched.
Measured faster (docs/PERFORMANCE.md, "Webhook intake"). The webhook keeps its own metrics
(``smsgw_webhook_*``); django-prometheus' request metrics count the other views.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from sms.webhook.views import sms_webhook


class WebhookFastPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.path = reverse("sms-webhook")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == self.path:
            # No CONN_HEALTH_CHECKS "SELECT 1" round trip before the INSERT: if the persistent
            # connection died, the INSERT fails as an outage, the message is spooled (never
            # lost), and Django replaces the connection when the request ends.
            connection.health_check_done = True  # type: ignore[attr-defined]  # Django's flag, not in the stubs
            return sms_webhook(request)
        return self.get_response(request)
