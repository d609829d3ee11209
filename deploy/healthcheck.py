"""Container health checks, standard library only (a check runs every few seconds; booting Django
for it would cost more than the check).

    python deploy/healthcheck.py http /healthz        the web process answers 200 on that path
    python deploy/healthcheck.py heartbeat FILE AGE   FILE was touched less than AGE seconds ago

``http`` asks ``127.0.0.1`` on the port of ``GUNICORN_BIND`` with a ``Host`` header that
``DJANGO_ALLOWED_HOSTS`` allows (its first entry; ``localhost`` when it allows any host or is
unset), so a deployment that lists only its public host name is not answered 400. Redirects are
not followed: only a 2xx answer is healthy.

``heartbeat`` reads the files the relay (``SMS_RELAY_HEARTBEAT_FILE``) and Celery beat
(``BEAT_HEARTBEAT_FILE``) touch after each pass of their loops (smsgateway/heartbeat.py).

Exit status 0 is healthy, 1 unhealthy (what Docker's HEALTHCHECK expects).
"""

from __future__ import annotations

import http.client
import os
import sys
import time


def allowed_host(raw: str | None) -> str:
    """A host name that Django's ALLOWED_HOSTS (as DJANGO_ALLOWED_HOSTS lists it) accepts."""
    for entry in (raw or "").split(","):
        entry = entry.strip()
        if not entry or entry == "*":
            continue
        # ".example.com" allows example.com and its subdomains.
        return entry.lstrip(".")
    return "localhost"


def bind_port(bind: str | None) -> int:
    _, _, port = (bind or "0.0.0.0:8000").rpartition(":")
    return int(port) if port.isdigit() else 8000


def check_http(path: str, timeout: float = 4.0) -> tuple[bool, str]:
    port = bind_port(os.environ.get("GUNICORN_BIND"))
    host = allowed_host(os.environ.get("DJANGO_ALLOWED_HOSTS"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        # X-Forwarded-Proto: behind a trusted proxy (DJANGO_TRUST_PROXY_HEADERS) the request is
        # then https and not redirected; elsewhere Django ignores it.
        connection.request("GET", path, headers={"Host": host, "X-Forwarded-Proto": "https"})
        status = connection.getresponse().status
    except OSError as exc:
        return False, f"GET {path} on port {port}: {exc}"
    finally:
        connection.close()
    return 200 <= status < 300, f"GET {path} (Host: {host}) answered {status}"


def check_heartbeat(path: str, max_age: float) -> tuple[bool, str]:
    try:
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return False, f"{path} does not exist"
    return age <= max_age, f"{path} touched {age:.0f} s ago (limit {max_age:.0f} s)"


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "http":
        healthy, detail = check_http(argv[1])
    elif len(argv) == 3 and argv[0] == "heartbeat":
        healthy, detail = check_heartbeat(argv[1], float(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(("healthy: " if healthy else "unhealthy: ") + detail)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
