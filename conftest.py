"""Fixtures shared by every app's tests.

- Tests talk to real PostgreSQL and Redis; the Redis DB index of the test settings is
  flushed before each test.
- Any connection to a non-loopback address fails the test: outside systems are faked on
  127.0.0.1 (devkit/fakes).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NonLoopbackConnection(AssertionError):
    """Raised when a test tries to reach anything but 127.0.0.0/8 or ::1."""


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = str(address[0])
        if not _is_loopback(host):
            raise NonLoopbackConnection(f"test tried to connect to non-loopback address {host!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]


@pytest.fixture(autouse=True)
def _clean_redis(settings: Any) -> Iterator[None]:
    """Each test starts with an empty Redis DB (its own index, see settings/test.py)."""
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        from django_redis import get_redis_connection

        get_redis_connection("default").flushdb()
    from performance.nearcache import near_caches_clear

    near_caches_clear()  # Redis tells it of the flush too; this makes it independent of timing
    yield


@pytest.fixture(autouse=True)
def _probe_connections_closed() -> Iterator[None]:
    """The probe threads keep their database connection between runs (performance/probes.py);
    a test that points the database elsewhere must see a new one."""
    yield
    from performance.probes import probers_connections_close

    probers_connections_close()


@pytest.fixture
def fake_twilio(settings: Any) -> Iterator[Any]:
    """A running fake Twilio REST API; settings point the real SDK at it."""
    from devkit.fakes.twilio import FakeTwilio

    fake = FakeTwilio(account_sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN).start()
    settings.TWILIO_API_BASE_URL = fake.url
    try:
        yield fake
    finally:
        fake.stop()
