"""The test harness itself: loopback-only network and the fake server helper."""

from __future__ import annotations

import socket

import pytest
import requests

from conftest import NonLoopbackConnection
from devkit.fakes.server import FakeServer, Reply


def test_connecting_to_a_non_loopback_address_fails_the_test() -> None:
    with pytest.raises(NonLoopbackConnection), socket.socket() as sock:
        sock.connect(("203.0.113.10", 80))


def test_private_addresses_are_refused_too() -> None:
    with pytest.raises(NonLoopbackConnection), socket.socket() as sock:
        sock.connect(("10.0.0.1", 80))


def test_requests_to_the_outside_are_refused() -> None:
    with pytest.raises((NonLoopbackConnection, requests.ConnectionError)):
        requests.get("http://198.51.100.7/", timeout=1)


def test_fake_server_routes_and_records_requests() -> None:
    with FakeServer() as server:

        @server.route("POST", r"/echo/(?P<name>\w+)")
        def echo(request):
            return Reply(201, request.match["name"].encode() + b":" + request.body)

        response = requests.post(server.url + "/echo/abc", data=b"hi", timeout=5)
        assert response.status_code == 201
        assert response.content == b"abc:hi"
        assert requests.get(server.url + "/nothing", timeout=5).status_code == 404
        assert [r.path for r in server.requests] == ["/echo/abc", "/nothing"]


def test_fake_server_streams_chunked_bodies() -> None:
    with FakeServer() as server:
        server.route("GET", "/stream")(lambda request: Reply(200, iter([b"a" * 10, b"b" * 5])))
        response = requests.get(server.url + "/stream", timeout=5)
        assert response.content == b"a" * 10 + b"b" * 5
