"""deploy/healthcheck.py, the containers' health checks, and the heartbeats they read."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from celery.beat import PersistentScheduler
from django.test import override_settings

from sms.relay import Relay
from smsgateway.celery import app
from smsgateway.heartbeat import HeartbeatScheduler, heartbeat_touch
from tests.live import ROOT


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = _load()


class _Recorder(BaseHTTPRequestHandler):
    status = 200
    hosts: list[str] = []

    def do_GET(self) -> None:
        type(self).hosts.append(self.headers.get("Host", ""))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Recorder]]:
    handler = type("Handler", (_Recorder,), {"hosts": [], "status": 200})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GUNICORN_BIND", f"0.0.0.0:{httpd.server_address[1]}")
    yield handler
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("sms.example.com", "sms.example.com"),
        ("sms.example.com,127.0.0.1", "sms.example.com"),
        (" .example.com , localhost", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
        (None, "localhost"),
    ],
)
def test_the_host_header_is_one_allowed_hosts_accepts(allowed: str | None, host: str) -> None:
    assert healthcheck.allowed_host(allowed) == host


def test_http_check_asks_the_bind_port_with_an_allowed_host(
    server: type[_Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "sms.example.com")
    assert healthcheck.main(["http", "/healthz"]) == 0
    assert server.hosts == ["sms.example.com"]


@pytest.mark.parametrize("status", [301, 400, 404, 503])
def test_http_check_fails_on_anything_but_2xx(server: type[_Recorder], status: int) -> None:
    server.status = status
    assert healthcheck.main(["http", "/healthz"]) == 1


def test_http_check_fails_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.live import free_port

    monkeypatch.setenv("GUNICORN_BIND", f"127.0.0.1:{free_port()}")
    assert healthcheck.main(["http", "/healthz"]) == 1


def test_heartbeat_check_passes_on_a_fresh_file_only(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    assert healthcheck.main(["heartbeat", str(beat), "30"]) == 1  # missing
    heartbeat_touch(path=str(beat))
    assert healthcheck.main(["heartbeat", str(beat), "30"]) == 0
    old = time.time() - 60
    os.utime(beat, (old, old))
    assert healthcheck.main(["heartbeat", str(beat), "30"]) == 1


def test_beat_scheduler_touches_its_heartbeat_on_every_tick(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    assert app.conf.beat_scheduler == "smsgateway.heartbeat.HeartbeatScheduler"
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"), lazy=True)
    with override_settings(BEAT_HEARTBEAT_FILE=str(beat)):
        try:
            scheduler.setup_schedule()
            scheduler.tick()
        finally:
            scheduler.close()
    assert beat.exists()
    assert issubclass(HeartbeatScheduler, PersistentScheduler)


@pytest.mark.django_db(transaction=True)
def test_relay_touches_its_heartbeat_after_each_pass(tmp_path: Path) -> None:
    beat = tmp_path / "relay"
    relay = Relay()
    with override_settings(SMS_RELAY_HEARTBEAT_FILE=str(beat), SMS_RELAY_POLL_SECONDS=0.05):
        thread = threading.Thread(target=relay.run_forever, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not beat.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert beat.exists()
            first = beat.stat().st_mtime_ns
            while beat.stat().st_mtime_ns == first and time.monotonic() < deadline:
                time.sleep(0.02)
            assert beat.stat().st_mtime_ns > first
        finally:
            relay.stop.set()
            thread.join(timeout=10)
