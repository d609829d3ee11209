"""``/metrics`` for Prometheus: our instruments and django-prometheus' own, summed over every
process, behind an optional IP allowlist and/or bearer token.

With neither ``METRICS_ALLOWED_IPS`` nor ``METRICS_BEARER_TOKEN`` set the page is open (a
private network is assumed). With one or both set, a request passes when its address is in
the allowlist or it carries ``Authorization: Bearer <token>``. The address is REMOTE_ADDR:
behind a proxy, allow the proxy's address or use the token.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from performance import metrics, snapshots
from performance.backlog import backlogs_read
from performance.queue import celery_queue_depth
from performance.readings import throughput_record

logger = logging.getLogger(__name__)


def _ip_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.METRICS_ALLOWED_IPS:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS entry %r is not an address or network", entry)
    return False


def _token_ok(request: HttpRequest) -> bool:
    token = settings.METRICS_BEARER_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    # Compared as bytes: compare_digest refuses non-ASCII str, which would be a 500, not a 401.
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and secrets.compare_digest(value.strip().encode("utf-8", "replace"), token.encode("utf-8"))
    )


def metrics_access_allowed(request: HttpRequest) -> bool:
    if not settings.METRICS_ALLOWED_IPS and not settings.METRICS_BEARER_TOKEN:
        return True
    return _ip_allowed(request.META.get("REMOTE_ADDR", "")) or _token_ok(request)


@require_GET
def metrics_export(request: HttpRequest) -> HttpResponse:
    if not metrics_access_allowed(request):
        response = HttpResponse("forbidden\n", status=403, content_type="text/plain")
        if settings.METRICS_BEARER_TOKEN:
            response.status_code = 401
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # Measured at scrape time, off every request path.
    try:
        celery_queue_depth()
        backlogs_read()  # sets the outbox and spool gauges
        snapshots.publish_snapshot()
        throughput_record()
    except Exception:
        logger.warning("refreshing queue/pool gauges failed", exc_info=True)
    return HttpResponse(generate_latest(metrics.read_registry()), content_type=CONTENT_TYPE_LATEST)
