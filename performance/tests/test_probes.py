"""/healthz (liveness) and /readyz (readiness): what each answers with which dependency down."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections
from django.test import Client

from performance.probes import probers_connections_close
from tests.live import free_port

pytestmark = pytest.mark.django_db

LOOPBACK: dict[str, Any] = {"HTTP_HOST": "127.0.0.1:8000"}


def _redis_down(settings: Any) -> None:
    settings.CACHES = {"default": dict(settings.CACHES["default"], LOCATION=f"redis://127.0.0.1:{free_port()}/0")}


def _postgresql_down(monkeypatch: pytest.MonkeyPatch) -> None:
    # Connections opened from now on (the probe's own) go to a closed port; the server runs on.
    probers_connections_close()
    monkeypatch.setitem(connections.settings["default"], "PORT", str(free_port()))


def test_liveness_is_200(client: Client) -> None:
    response = client.get("/healthz", **LOOPBACK)
    assert (response.status_code, response.content) == (200, b"ok\n")
    assert response["Cache-Control"] == "no-store"


def test_liveness_touches_no_dependency(client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _redis_down(settings)
    _postgresql_down(monkeypatch)
    assert client.get("/healthz", **LOOPBACK).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_a_host_not_in_allowed_hosts(client: Client, settings: Any, path: str) -> None:
    settings.ALLOWED_HOSTS = ["sms.example.com"]
    assert client.get(path, **LOOPBACK).status_code == 200
    assert client.get("/admin/login/", **LOOPBACK).status_code == 400  # everything else still refuses it


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_not_redirected_to_https(client: Client, settings: Any, path: str) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(path, **LOOPBACK).status_code == 200


def test_probes_refuse_post(client: Client) -> None:
    response = client.post("/readyz", **LOOPBACK)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_readiness_200_when_all_answer(client: Client) -> None:
    response = client.get("/readyz", **LOOPBACK)
    assert (response.status_code, response.content) == (200, b"ready\n")


def test_readiness_200_when_redis_is_down(client: Client, settings: Any) -> None:
    _redis_down(settings)
    assert client.get("/readyz", **LOOPBACK).status_code == 200


def test_readiness_200_when_postgresql_is_down_but_the_spool_answers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgresql_down(monkeypatch)
    assert client.get("/readyz", **LOOPBACK).status_code == 200


def test_readiness_503_when_postgresql_and_redis_are_down(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _redis_down(settings)
    _postgresql_down(monkeypatch)
    response = client.get("/readyz", **LOOPBACK)
    assert (response.status_code, response.content) == (503, b"not ready\n")


def test_readiness_503_when_postgresql_hangs_and_redis_is_down(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from performance import probes

    settings.PERFORMANCE_HEALTH_TIMEOUT = 0.2
    _redis_down(settings)
    monkeypatch.setattr(probes, "database_select_one", lambda: time.sleep(1))
    started = time.monotonic()
    assert client.get("/readyz", **LOOPBACK).status_code == 503
    assert time.monotonic() - started < 0.9
