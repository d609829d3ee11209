"""MMS media download: the only module that fetches media bytes (``requests``).

Every download is streamed to a temporary file in small chunks, so memory stays flat whatever
the size. Guards, each a typed error with a ``code`` and ``is_transient``:

- a byte budget per message (``SMS_MEDIA_MAX_BYTES``, summed over its attachments), checked
  against ``Content-Length`` first and then against the bytes actually read — a lying or
  missing header changes nothing;
- connect and read timeouts per request plus an overall deadline per message;
- redirects followed by hand, only to hosts in ``SMS_MEDIA_ALLOWED_HOSTS``;
- HTTP Basic credentials only on the first request and only to the Twilio API host (the host
  of ``TWILIO_API_BASE_URL``), never after a redirect;
- private, loopback, link-local (and other non-global) addresses refused unless
  ``SMS_MEDIA_ALLOW_PRIVATE_IPS``; checked on the socket actually connected, so a DNS answer
  that changes between a check and the connection (rebinding) cannot slip through;
- a 404 right after delivery (Twilio has not finished storing the media) asked again after
  ``SMS_MEDIA_NOT_FOUND_RETRY_DELAYS`` (1 s, 3 s).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

from performance import metrics
from performance.pools import PoolStats, register_pool
from sms.clients import ClientFactory, SettingsRead
from sms.clients.http import HttpPolicy, PooledAdapter, transport_errors
from sms.exceptions import SmsError
from sms.processing.media_types import sniff_content_type

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
SNIFF_BYTES = 64
MAX_REDIRECTS = 5
TEMP_PREFIX = "smsgw-media-"
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
TRANSIENT_STATUSES = (408, 425, 429, 500, 502, 503, 504)


class MediaError(SmsError, code="media_error"):
    """A download failed. ``code`` names the reason; ``is_transient`` says whether a retry may help."""


class MediaTooLargeError(MediaError, code="media_too_large"): ...


class MediaRefusedError(MediaError, code="media_refused"):
    """Redirect to a host not allowed, a private address, too many redirects, a bad scheme."""


class MediaNotFoundError(MediaError, code="media_not_found"): ...


class MediaHttpError(MediaError, code="media_http_error"): ...


class MediaUnavailableError(MediaError, code="media_unavailable", is_transient=True):
    """Network error, timeout, 429/5xx: worth another attempt later."""


class MediaDeadlineError(MediaUnavailableError, code="media_deadline"): ...


@dataclass
class ByteBudget:
    """Bytes a message may still download (shared by all its attachments)."""

    remaining: int

    def take(self, amount: int) -> None:
        self.remaining -= amount
        if self.remaining < 0:
            raise MediaTooLargeError("media over the per-message limit")


@dataclass(frozen=True)
class DownloadedMedia:
    path: Path
    size_bytes: int
    sniffed_content_type: str
    declared_content_type: str


@dataclass
class DownloadPolicy:
    allowed_hosts: list[str]
    allow_private_ips: bool
    credentials_netloc: str
    auth: tuple[str, str]
    http: HttpPolicy
    not_found_delays: list[float] = field(default_factory=lambda: [1.0, 3.0])
    temp_dir: str | None = None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries and routes to: mapped (``::ffff:a.b.c.d``),
    compatible (``::a.b.c.d``), NAT64 (``64:ff9b::/96``) or 6to4 (``2002:AABB:CCDD::/48``)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    value = int(address)
    if address in _NAT64 or (value >> 32 == 0 and value > 1):  # ::1 and :: are not IPv4
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def _address_allowed(ip: str, allow_private: bool) -> bool:
    if allow_private:
        return True
    address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        address = _embedded_ipv4(address) or address
    return address.is_global and not address.is_multicast


def _guard(sock: socket.socket, allow_private: bool) -> socket.socket:
    peer = sock.getpeername()[0]
    if not _address_allowed(str(peer), allow_private):
        sock.close()
        raise MediaRefusedError(f"media host resolved to a non-public address {peer}")
    return sock


def _guarded_pool_classes(allow_private: bool) -> dict[str, type[HTTPConnectionPool]]:
    """Connection pools whose connections check the peer address of the socket they opened."""

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _guard(super()._new_conn(), allow_private)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _guard(super()._new_conn(), allow_private)

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}


class GuardedAdapter(PooledAdapter):
    def __init__(self, policy: HttpPolicy, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        # A retry of the GET on a connection or read error (HttpPolicy.retries, one): a pooled
        # keep-alive connection the host closed while idle (CDNs do) fails on reuse, and that is
        # not the media's fault. Statuses and redirects are handled by the caller, never retried here.
        retry = policy.retry(read=policy.retries, redirect=0, status=0, other=0, allowed_methods=frozenset({"GET"}))
        super().__init__(policy, retry=retry, hosts=4)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pool_classes(self.allow_private)


def _checked_url(url: str) -> Url:
    """``url`` parsed by urllib3, the library that connects, so the host checked is the host
    reached. Userinfo and backslashes are refused: parsers disagree on where such a host ends
    (``https://evil.example\\@api.twilio.com/``)."""
    if "\\" in url:
        raise MediaRefusedError("media URL contains a backslash")
    try:
        parts = parse_url(url)
    except LocationParseError as exc:
        raise MediaRefusedError("media URL cannot be parsed") from exc
    if parts.scheme not in ("http", "https") or not parts.host:
        raise MediaRefusedError("media URL must be http(s)")
    if parts.auth is not None or "@" in (parts.netloc or ""):
        raise MediaRefusedError("media URL carries credentials")
    return parts


def _host_allowed(hostname: str, allowed: list[str]) -> bool:
    hostname = hostname.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if entry.startswith(".") and hostname.endswith(entry):
            return True
        if hostname == entry:
            return True
    return False


class MediaClient:
    """Downloads media over one pooled, address-guarded session."""

    def __init__(self, *, policy: DownloadPolicy) -> None:
        self.policy = policy
        self.adapter = GuardedAdapter(policy.http, allow_private=policy.allow_private_ips)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or .netrc credentials from the environment
        self.adapter.mount_on(self.session)

    def download(
        self, url: str, *, budget: ByteBudget, deadline: float, declared_content_type: str = ""
    ) -> DownloadedMedia:
        """Stream ``url`` to a temp file (the caller removes it). ``deadline`` is a monotonic time."""
        started = time.monotonic()
        delays = list(self.policy.not_found_delays)
        while True:
            try:
                result = self._download_once(url, budget=budget, deadline=deadline, declared=declared_content_type)
            except MediaNotFoundError:
                if not delays:
                    metrics.MEDIA_DOWNLOAD_ERRORS.labels("not_found").inc()
                    raise
                delay = delays.pop(0)
                if time.monotonic() + delay >= deadline:
                    metrics.MEDIA_DOWNLOAD_ERRORS.labels("deadline").inc()
                    raise MediaDeadlineError("media deadline passed waiting for media to appear")
                logger.info("media not found yet, asking again in %.1fs", delay)
                time.sleep(delay)
                continue
            except MediaError as exc:
                metrics.MEDIA_DOWNLOAD_ERRORS.labels(exc.code.removeprefix("media_")).inc()
                raise
            metrics.MEDIA_DOWNLOAD_LATENCY.observe(time.monotonic() - started)
            metrics.MEDIA_DOWNLOAD_BYTES.inc(result.size_bytes)
            return result

    def _download_once(self, url: str, *, budget: ByteBudget, deadline: float, declared: str) -> DownloadedMedia:
        response = self._open(url, deadline=deadline)
        try:
            if response.status_code == 404:
                raise MediaNotFoundError("media not found")
            if response.status_code in TRANSIENT_STATUSES:
                raise MediaUnavailableError(f"media host answered {response.status_code}")
            if response.status_code != 200:
                raise MediaHttpError(f"media host answered {response.status_code}")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > budget.remaining:
                raise MediaTooLargeError("declared media size over the per-message limit")
            return self._stream_to_file(response, budget=budget, deadline=deadline, declared=declared)
        finally:
            response.close()

    def _open(self, url: str, *, deadline: float) -> requests.Response:
        first = True
        for _ in range(MAX_REDIRECTS + 1):
            parts = _checked_url(url)
            if not _host_allowed(parts.host or "", self.policy.allowed_hosts):
                raise MediaRefusedError(f"media host {parts.host} is not allowed")
            # Credentials go only to the Twilio API host, only over https (plain http only to the
            # local fakes of SMS_MEDIA_ALLOW_PRIVATE_IPS), and only before any redirect: a
            # redirect target (CDN, or anything a compromised hop points at) never sees them.
            is_api_host = (parts.netloc or "").lower() == self.policy.credentials_netloc
            is_private_ok = parts.scheme == "https" or self.policy.allow_private_ips
            auth = self.policy.auth if first and is_api_host and is_private_ok else None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MediaDeadlineError("media deadline passed")
            timeout = self.policy.http.timeout(remaining=remaining)
            try:
                with transport_errors(MediaUnavailableError, "media host"):
                    response = self.session.get(url, auth=auth, stream=True, allow_redirects=False, timeout=timeout)
            except MediaUnavailableError as exc:
                # A non-public address is refused inside the connection: a refusal, not an outage.
                refused = _refusal_in(exc)
                if refused is not None:
                    raise refused from exc.__cause__
                raise
            except requests.RequestException as exc:
                raise MediaUnavailableError(f"media download failed: {type(exc).__name__}") from exc
            if response.status_code in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                response.close()
                if not location:
                    raise MediaHttpError("redirect without a Location")
                url = urljoin(url, location)
                first = False
                continue
            return response
        raise MediaRefusedError("too many media redirects")

    def _stream_to_file(
        self, response: requests.Response, *, budget: ByteBudget, deadline: float, declared: str
    ) -> DownloadedMedia:
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.policy.temp_dir or None)
        path = Path(name)
        size = 0
        head = b""
        try:
            with os.fdopen(fd, "wb") as out:
                raw = response.raw
                while True:
                    if time.monotonic() > deadline:
                        raise MediaDeadlineError("media download passed its deadline")
                    try:
                        # read1: whatever one socket read returns, so the deadline is checked
                        # between small reads even when the sender drips.
                        chunk = raw.read1(CHUNK_SIZE)
                    except Exception as exc:
                        raise MediaUnavailableError(f"media read failed: {type(exc).__name__}") from exc
                    if not chunk:
                        break
                    budget.take(len(chunk))
                    size += len(chunk)
                    if len(head) < SNIFF_BYTES:
                        head += chunk[: SNIFF_BYTES - len(head)]
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        sniffed = sniff_content_type(head)
        if sniffed == "application/octet-stream" and declared.startswith("text/"):
            sniffed = sniff_text(path)
        return DownloadedMedia(path=path, size_bytes=size, sniffed_content_type=sniffed, declared_content_type=declared)

    def pool_stats(self) -> PoolStats:
        return self.adapter.pool_stats()


def sniff_text(path: Path) -> str:
    """Plain text (UTF-8, no NULs) in the first KB, else unknown bytes."""
    with path.open("rb") as fh:
        data = fh.read(1024)
    if b"\x00" in data:
        return "application/octet-stream"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def _refusal_in(exc: BaseException) -> MediaRefusedError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MediaRefusedError):
            return current
        seen.add(id(current))
        for arg in current.args:
            if isinstance(arg, BaseException) and not isinstance(arg, str):
                found = _refusal_in(arg)
                if found is not None:
                    return found
        current = current.__cause__ or current.__context__
    return None


def cleanup_temp_files(*, older_than_seconds: float, temp_dir: str | None = None) -> int:
    """Remove media temp files older than ``older_than_seconds`` (left by killed workers)."""
    directory = Path(temp_dir or tempfile.gettempdir())
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in directory.glob(TEMP_PREFIX + "*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


@ClientFactory
def get_media_client(settings: SettingsRead) -> MediaClient:
    """The process's media client."""
    policy = DownloadPolicy(
        allowed_hosts=list(settings.SMS_MEDIA_ALLOWED_HOSTS),
        allow_private_ips=settings.SMS_MEDIA_ALLOW_PRIVATE_IPS,
        credentials_netloc=urlsplit(settings.TWILIO_API_BASE_URL).netloc.lower(),
        auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
        http=HttpPolicy(
            pool_size=settings.SMS_MEDIA_POOL_SIZE,
            connect_timeout=settings.SMS_MEDIA_CONNECT_TIMEOUT,
            read_timeout=settings.SMS_MEDIA_READ_TIMEOUT,
            retries=1,
        ),
        not_found_delays=list(settings.SMS_MEDIA_NOT_FOUND_RETRY_DELAYS),
        temp_dir=settings.SMS_MEDIA_TEMP_DIR or None,
    )
    client = MediaClient(policy=policy)
    register_pool("media_http", client.pool_stats)
    return client
