"""deploy/nginx.conf with Debian's nginx: the configuration is valid, idle clients do not delay a
webhook behind it (and do delay one sent straight to sync gunicorn workers), and the forwarded
headers make the signed URL the one the client used.

The file is rendered for a local, unprivileged nginx: its upstream and listen address point at
127.0.0.1, and its pid, logs and temp files go to a temporary prefix. Every other line is the
file compose mounts.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from devkit.payloads import load_payload, with_new_sid
from sms.tests.webhook_client import sign
from tests.live import ROOT, Gunicorn, free_port

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/browser-deps.sh installs it)")
CONF = ROOT / "deploy" / "nginx.conf"
IDLE_CLIENTS = 20


def render(*, upstream_port: int, listen_port: int, prefix: Path) -> str:
    """deploy/nginx.conf for an nginx on 127.0.0.1 in front of gunicorn on ``upstream_port``."""
    text = CONF.read_text()
    temp_paths = "".join(
        f"    {directive} {prefix / name};\n"
        for directive, name in [
            ("client_body_temp_path", "body"),
            ("proxy_temp_path", "proxy"),
            ("fastcgi_temp_path", "fastcgi"),
            ("uwsgi_temp_path", "uwsgi"),
            ("scgi_temp_path", "scgi"),
        ]
    )
    replacements = {
        "worker_processes auto;": "worker_processes 1;",
        "pid /var/run/nginx.pid;": f"pid {prefix / 'nginx.pid'};",
        "error_log /dev/stderr warn;": f"error_log {prefix / 'error.log'} info;",
        "access_log /dev/stdout;": f"access_log {prefix / 'access.log'};",
        "server web:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 80 default_server;": f"listen 127.0.0.1:{listen_port} default_server;",
        "http {\n": "http {\n" + temp_paths,
    }
    for old, new in replacements.items():
        # The file changed under the test: fail loudly rather than test something else.
        assert text.count(old) == 1, f"deploy/nginx.conf no longer has exactly one {old!r}"
        text = text.replace(old, new)
    return text


def _prefix(tmp_path: Path) -> Path:
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    # Workers of a root master run as nobody: they must reach the temp directories.
    prefix.chmod(0o755)
    tmp_path.chmod(0o755)
    return prefix


def _nginx_test(conf: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    assert NGINX is not None
    return subprocess.run(
        [NGINX, "-t", "-q", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )


@contextmanager
def nginx_in_front(upstream_port: int, tmp_path: Path) -> Iterator[str]:
    """nginx with the rendered configuration on a free port; yields its base URL."""
    assert NGINX is not None
    prefix = _prefix(tmp_path)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render(upstream_port=upstream_port, listen_port=port, prefix=prefix))
    proc = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/nginx-health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
                raise RuntimeError(f"nginx did not start:\n{log}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def idle_clients(port: int, count: int = IDLE_CLIENTS) -> Iterator[None]:
    """``count`` connections that send the start of a request and then nothing (a slow client)."""
    with ExitStack() as stack:
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            sock.sendall(b"POST /api/sms/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # Let the server take them (gunicorn's workers accept them first, in order).
        time.sleep(0.3)
        yield


def _post_webhook(url: str, *, timeout: float, signed_url: str | None = None, **headers: str) -> requests.Response:
    params = with_new_sid(load_payload("inbound_sms__plain"))
    return requests.post(
        url,
        data=urlencode(params),
        headers={
            "X-Twilio-Signature": sign(signed_url or url, params),
            "Content-Type": "application/x-www-form-urlencoded",
            **headers,
        },
        timeout=timeout,
    )


@needs_nginx
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    prefix = _prefix(tmp_path)
    conf = prefix / "nginx.conf"
    conf.write_text(render(upstream_port=free_port(), listen_port=free_port(), prefix=prefix))
    result = _nginx_test(conf, prefix)
    assert result.returncode == 0, result.stderr


@needs_nginx
def test_nginx_refuses_a_broken_configuration(tmp_path: Path) -> None:
    # The check above can fail: an unknown directive is refused.
    prefix = _prefix(tmp_path)
    conf = prefix / "nginx.conf"
    rendered = render(upstream_port=free_port(), listen_port=free_port(), prefix=prefix)
    conf.write_text(rendered.replace("client_header_timeout 10s;", "client_header_timeout_typo 10s;"))
    assert _nginx_test(conf, prefix).returncode != 0


@pytest.fixture(scope="module")
def web(django_db_setup: None) -> Iterator[Gunicorn]:
    # Few sync workers, as in production per core; behind nginx the proxy headers are trusted.
    with Gunicorn(workers=2, DJANGO_TRUST_PROXY_HEADERS="true") as gunicorn:
        yield gunicorn


@needs_nginx
@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_idle_clients_do_not_delay_a_webhook_behind_nginx(web: Gunicorn, tmp_path: Path) -> None:
    with nginx_in_front(web.port, tmp_path) as proxy:
        port = int(proxy.rsplit(":", 1)[1])
        with idle_clients(port):
            started = time.monotonic()
            response = _post_webhook(proxy + "/api/sms/webhook", timeout=10)
            elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    # Far under nginx's 10 s header timeout: the idle clients held no gunicorn worker.
    assert elapsed < 2.0


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_idle_clients_delay_a_webhook_sent_straight_to_sync_gunicorn(web: Gunicorn) -> None:
    # What nginx is for: each idle connection holds a sync worker until gunicorn's timeout, and
    # the webhook waits in the queue behind them.
    with idle_clients(web.port), pytest.raises(requests.ReadTimeout):
        _post_webhook(web.url + "/api/sms/webhook", timeout=3)


@needs_nginx
@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_through_nginx_the_signed_url_is_the_one_the_client_used(web: Gunicorn, tmp_path: Path) -> None:
    # Twilio signs the URL it posts to; with SMS_WEBHOOK_PUBLIC_URL unset, the app rebuilds it
    # from nginx's X-Forwarded-Host (port included) and X-Forwarded-Proto. A client's own
    # X-Forwarded-Proto is replaced, so it cannot move the URL to https.
    with nginx_in_front(web.port, tmp_path) as proxy:
        url = proxy + "/api/sms/webhook"
        plain = _post_webhook(url, timeout=10)
        spoofed = _post_webhook(url, timeout=10, **{"X-Forwarded-Proto": "https"})
        https_signed = _post_webhook(url, timeout=10, signed_url=url.replace("http://", "https://"))
    assert (plain.status_code, spoofed.status_code, https_signed.status_code) == (200, 200, 403)
