"""Media download: streamed, bounded, deadline, redirects, credentials, private IPs, 404 retry, sniffing."""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from devkit.fakes.server import FakeServer, Reply
from devkit.media_files import jpeg_bytes, vcard_bytes
from sms.clients.media import (
    ByteBudget,
    MediaDeadlineError,
    MediaNotFoundError,
    MediaRefusedError,
    MediaTooLargeError,
    get_media_client,
)

MB = 1024 * 1024


def _download(url: str, budget: int = 5 * MB, seconds: float = 30.0, declared: str = ""):
    return get_media_client().download(
        url, budget=ByteBudget(budget), deadline=time.monotonic() + seconds, declared_content_type=declared
    )


def test_download_follows_redirect_to_cdn_and_sniffs_real_type(local_media, media_temp_dir):
    jpeg = jpeg_bytes()
    url = local_media.add_media(jpeg, "application/octet-stream")

    result = _download(url)

    assert result.path.read_bytes() == jpeg
    assert result.size_bytes == len(jpeg)
    assert result.sniffed_content_type == "image/jpeg"
    assert result.path.parent == media_temp_dir
    result.path.unlink()


def test_credentials_go_to_api_host_only_never_after_redirect(local_media):
    url = local_media.add_media(jpeg_bytes(), "image/jpeg")

    _download(url).path.unlink()

    api_request = local_media.server.requests[-1]
    cdn_request = local_media.cdn.requests[-1]
    assert api_request.header("Authorization", "").startswith("Basic ")
    assert cdn_request.header("Authorization") is None


def test_redirect_back_to_api_host_gets_no_credentials(local_media, settings):
    bounce = FakeServer().start()
    try:
        target = local_media.add_media(b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n", "text/vcard")

        @bounce.route("GET", r"/m")
        def _redirect(request):
            return Reply(302, b"", {"Location": target})

        # The bounce host is allowed but is not the API host: the API host, reached by a
        # redirect, must not get the credentials either (and so answers 401 here).
        with pytest.raises(Exception) as excinfo:
            _download(bounce.url + "/m")
        api_request = local_media.server.requests[-1]
        assert api_request.header("Authorization") is None
        assert "401" in str(excinfo.value)
    finally:
        bounce.stop()


def test_redirect_to_foreign_host_is_refused(local_media):
    evil = FakeServer().start()
    try:

        @evil.route("GET", r"/m")
        def _redirect(request):
            # Same machine, another host name: not on the allow-list.
            return Reply(307, b"", {"Location": f"http://localhost:{local_media.cdn.port}/media/x"})

        with pytest.raises(MediaRefusedError):
            _download(evil.url + "/m")
        assert local_media.cdn.requests == []
    finally:
        evil.stop()


def test_first_host_not_allowed_is_refused_without_a_request(local_media, settings):
    settings.SMS_MEDIA_ALLOWED_HOSTS = ["api.twilio.com"]
    url = local_media.add_media(jpeg_bytes(), "image/jpeg")

    with pytest.raises(MediaRefusedError):
        _download(url)
    assert local_media.server.requests == []


def test_private_addresses_are_refused_unless_allowed(local_media, settings):
    settings.SMS_MEDIA_ALLOW_PRIVATE_IPS = False
    url = local_media.add_media(jpeg_bytes(), "image/jpeg")

    with pytest.raises(MediaRefusedError, match=r"non-public address 127\.0\.0\.1"):
        _download(url)
    # Refused on the connected socket, before any request was written.
    assert local_media.server.requests == []


def test_private_address_behind_an_allowed_name_is_refused(local_media, settings):
    # "localhost" is allowed by name, but what it resolves to (loopback) is checked on connect.
    settings.SMS_MEDIA_ALLOWED_HOSTS = ["localhost"]
    settings.SMS_MEDIA_ALLOW_PRIVATE_IPS = False
    url = local_media.add_media(jpeg_bytes(), "image/jpeg").replace("127.0.0.1", "localhost")

    with pytest.raises(MediaRefusedError):
        _download(url)


def test_oversize_by_content_length_is_refused_before_reading(local_media, media_temp_dir):
    url = local_media.add_media(b"\xff\xd8\xff" + b"0" * (2 * MB), "image/jpeg")

    with pytest.raises(MediaTooLargeError):
        _download(url, budget=1 * MB)
    assert list(media_temp_dir.iterdir()) == []


def test_oversize_without_content_length_aborts_mid_stream(local_media, media_temp_dir):
    url = local_media.add_media(b"\xff\xd8\xff" + b"0" * (3 * MB), "image/jpeg", content_length=-1)

    with pytest.raises(MediaTooLargeError):
        _download(url, budget=1 * MB)
    assert list(media_temp_dir.iterdir()) == []
    assert local_media.cdn.requests, "the body was requested (no header to refuse it by)"


def test_understated_content_length_lets_no_more_bytes_through(local_media):
    # The header claims 1000 bytes of a 3 MB body: HTTP framing stops the read at 1000 bytes,
    # so a lying header can only shorten what we take, never push it past the limit.
    url = local_media.add_media(b"\xff\xd8\xff" + b"0" * (3 * MB), "image/jpeg", content_length=1000)

    result = _download(url, budget=1 * MB)

    assert result.size_bytes <= 1000
    result.path.unlink()


def test_budget_is_shared_by_all_attachments_of_a_message(local_media):
    first = local_media.add_media(b"\xff\xd8\xff" + b"0" * (600 * 1024), "image/jpeg")
    second = local_media.add_media(b"\xff\xd8\xff" + b"0" * (600 * 1024), "image/jpeg", content_length=-1)
    budget = ByteBudget(1 * MB)
    deadline = time.monotonic() + 30
    client = get_media_client()

    client.download(first, budget=budget, deadline=deadline).path.unlink()
    with pytest.raises(MediaTooLargeError):
        client.download(second, budget=budget, deadline=deadline)


def test_slow_drip_hits_the_overall_deadline(local_media, media_temp_dir, settings):
    settings.SMS_MEDIA_READ_TIMEOUT = 5.0
    # 1 KB every 0.1 s: each read is well within the read timeout, the whole is not.
    url = local_media.add_media(b"\xff\xd8\xff" + b"0" * (200 * 1024), "image/jpeg", chunk_size=1024, chunk_delay=0.1)

    started = time.monotonic()
    with pytest.raises(MediaDeadlineError):
        _download(url, seconds=1.0)
    assert time.monotonic() - started < 3.0
    assert list(media_temp_dir.iterdir()) == []


def test_not_found_right_after_delivery_is_asked_again(local_media):
    url = local_media.add_media(vcard_bytes(), "text/vcard", not_found_times=1)

    started = time.monotonic()
    result = _download(url)
    elapsed = time.monotonic() - started

    assert result.sniffed_content_type == "text/vcard"
    assert elapsed >= 1.0
    assert local_media.media[url.rsplit("/", 1)[-1]].fetches == 2
    result.path.unlink()


def test_not_found_after_all_retries_is_permanent(local_media, settings):
    settings.SMS_MEDIA_NOT_FOUND_RETRY_DELAYS = [0.05, 0.05]
    url = local_media.add_media(vcard_bytes(), "text/vcard", not_found_times=5)

    with pytest.raises(MediaNotFoundError) as excinfo:
        _download(url)
    assert not excinfo.value.is_transient
    assert local_media.media[url.rsplit("/", 1)[-1]].fetches == 3


def test_download_of_5mb_keeps_memory_flat(local_media):
    content = b"\xff\xd8\xff" + bytes(range(256)) * (5 * MB // 256 - 1)
    url = local_media.add_media(content, "image/jpeg")
    _download(url, budget=6 * MB).path.unlink()  # warm up the pool and imports

    tracemalloc.start()
    try:
        result = _download(url, budget=6 * MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.size_bytes == len(content)
    result.path.unlink()
    print(f"peak traced memory during a {len(content)}-byte download: {peak} bytes")
    assert peak < 1 * MB, f"peak traced memory {peak} bytes"


def test_media_pool_is_registered(local_media):
    from performance.pools import pool_stats

    _download(local_media.add_media(jpeg_bytes(), "image/jpeg")).path.unlink()

    stats: Any = pool_stats()["media_http"]
    assert stats["max"] >= 1
    assert stats["idle"] >= 1


def test_private_address_is_refused_over_https_before_the_tls_handshake(settings):
    """The guard sits on the HTTPS connection too: the socket is checked before any TLS byte."""
    import socket
    import threading

    settings.SMS_MEDIA_ALLOWED_HOSTS = ["localhost"]
    settings.SMS_MEDIA_ALLOW_PRIVATE_IPS = False
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(2)
            try:
                received.append(conn.recv(1024))
            except OSError:
                received.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with pytest.raises(MediaRefusedError, match="non-public address"):
            _download(f"https://localhost:{port}/media/ME1")
        thread.join(5)
    finally:
        listener.close()
    assert received == [b""]  # connected, then closed: no TLS ClientHello was ever sent


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@api.twilio.com/x",  # urllib and urllib3 disagree on the host
        "https://user@api.twilio.com/2010-04-01/x",
        "https://user:pw@api.twilio.com/2010-04-01/x",
        "ftp://api.twilio.com/x",
        "https:///x",
    ],
)
def test_urls_parsers_disagree_on_are_refused_before_any_request(url, settings):
    settings.SMS_MEDIA_ALLOWED_HOSTS = ["api.twilio.com"]
    with pytest.raises(MediaRefusedError):
        _download(url)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("::10.0.0.1", False),  # IPv4-compatible
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:a00:1::1", False),  # 6to4 of 10.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("::1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("2606:4700::1111", True),
    ],
)
def test_ipv4_embedded_in_ipv6_is_judged_as_the_ipv4_address(address, allowed):
    from sms.clients.media import _address_allowed

    assert _address_allowed(address, allow_private=False) is allowed


def test_twilio_credentials_never_travel_over_plain_http_to_a_public_host(settings):
    from sms.clients.http import HttpPolicy
    from sms.clients.media import DownloadPolicy, MediaClient

    policy = DownloadPolicy(
        allowed_hosts=["api.twilio.com"],
        allow_private_ips=False,
        credentials_netloc="api.twilio.com",
        auth=("AC1", "token"),
        http=HttpPolicy(pool_size=1, connect_timeout=0.01, read_timeout=0.01, retries=1),
    )
    sent: list[Any] = []
    client = MediaClient(policy=policy)

    def record(url: str, **kwargs: Any) -> Any:
        sent.append(kwargs["auth"])  # what would go on the wire; nothing leaves the test
        raise MediaRefusedError("recorded")

    client.session.get = record  # type: ignore[method-assign,assignment]
    for url in ("http://api.twilio.com/2010-04-01/x", "https://api.twilio.com/2010-04-01/x"):
        with pytest.raises(MediaRefusedError):
            client._open(url, deadline=time.monotonic() + 5)
    assert sent == [None, ("AC1", "token")]
