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
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.exposition import ThreadingWSGIServer

from performance import metrics, pool_snapshots
from performance.backlog import backlogs_read
from performance.metric_totals import throughput_record
from performance.queue import celery_queue_depth

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


def _token_ok(header: str) -> bool:
    token = settings.METRICS_BEARER_TOKEN
    scheme, _, value = header.partition(" ")
    # Compared as bytes: compare_digest refuses non-ASCII str, which would be a 500, not a 401.
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and secrets.compare_digest(value.strip().encode("utf-8", "replace"), token.encode("utf-8"))
    )


def access_allowed(*, remote_addr: str, authorization: str) -> bool:
    """The /metrics rule, for the web's view and the worker's own server alike."""
    if not settings.METRICS_ALLOWED_IPS and not settings.METRICS_BEARER_TOKEN:
        return True
    return _ip_allowed(remote_addr) or _token_ok(authorization)


def metrics_access_allowed(request: HttpRequest) -> bool:
    return access_allowed(
        remote_addr=request.META.get("REMOTE_ADDR", ""), authorization=request.headers.get("Authorization", "")
    )


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
        pool_snapshots.publish_snapshot()
        throughput_record()
    except Exception:
        logger.warning("refreshing queue/pool gauges failed", exc_info=True)
    return HttpResponse(generate_latest(metrics.read_registry()), content_type=CONTENT_TYPE_LATEST)


# --- The worker's and the relay's own /metrics --------------------------------------------------
class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


def _metrics_wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ.get("PATH_INFO") not in ("/metrics", "/"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    if not access_allowed(
        remote_addr=environ.get("REMOTE_ADDR", ""), authorization=environ.get("HTTP_AUTHORIZATION", "")
    ):
        if settings.METRICS_BEARER_TOKEN:
            start_response(
                "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')]
            )
        else:
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"forbidden\n"]
    try:
        backlogs_read()  # the outbox and spool gauges, as the web's /metrics sets them
    except Exception:
        logger.warning("refreshing backlog gauges failed", exc_info=True)
    body = generate_latest(metrics.read_registry())
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]


def metrics_server_start(*, port: int, addr: str = "0.0.0.0") -> ThreadingWSGIServer:
    """Serve ``/metrics`` of this container's processes (its multiprocess directory) on ``port``,
    in a daemon thread: for worker and relay containers, which have no web server. Same access
    rules as the web's /metrics (``METRICS_ALLOWED_IPS`` / ``METRICS_BEARER_TOKEN``)."""
    server = make_server(addr, port, _metrics_wsgi_app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    logger.info("metrics: serving /metrics on %s:%s", addr, server.server_port)
    return server
