"""A fake Twilio on 127.0.0.1: the REST API for the real ``twilio`` SDK, and media hosting.

REST: create Message, delete Media, with HTTP Basic auth checked against the account SID
and token. Scripted failures (``fail_next``) answer the next calls with Twilio-shaped errors.

Media, as Twilio serves MMS media: ``GET /2010-04-01/Accounts/AC…/Messages/MM…/Media/ME…``
(Basic auth) answers ``307`` to a separate "CDN" server (another port, so another host for
redirect checks) that serves the bytes without auth. ``add_media`` registers a file and
returns its Twilio-style URL; its options make the hostile cases: slow drip, a lying or
missing Content-Length, 404s right after delivery, oversized bodies.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Self

from devkit.fakes.server import FakeServer, Reply, Request
from devkit.lifecycle import Startable

API = "/2010-04-01/Accounts/(?P<account>AC\\w+)"


@dataclass
class SentMessage:
    sid: str
    to: str
    from_: str
    body: str
    messaging_service_sid: str = ""
    status_callback: str = ""


@dataclass
class FakeMedia:
    content: bytes
    content_type: str
    chunk_size: int = 64 * 1024
    chunk_delay: float = 0.0
    content_length: int | None = None  # None: the true length; -1: no header (chunked)
    not_found_times: int = 0
    fetches: int = 0


@dataclass
class FakeTwilio(Startable):
    account_sid: str
    auth_token: str
    server: FakeServer = field(default_factory=FakeServer)
    sent: list[SentMessage] = field(default_factory=list)
    deleted_media: list[tuple[str, str]] = field(default_factory=list)
    _failures: list[tuple[int, int | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    cdn: FakeServer = field(default_factory=FakeServer)
    media: dict[str, FakeMedia] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.server.route("POST", API + r"/Messages\.json")(self._create_message)
        self.server.route("DELETE", API + r"/Messages/(?P<msid>\w+)/Media/(?P<mesid>\w+)\.json")(self._delete_media)
        self.server.route("GET", API + r"/Messages/(?P<msid>\w+)/Media/(?P<mesid>\w+)")(self._get_media)
        self.cdn.route("GET", r"/media/(?P<mesid>\w+)")(self._cdn_media)

    def add_media(
        self,
        content: bytes,
        content_type: str,
        *,
        message_sid: str = "MM00000000000000000000000000000000",
        **options: float | int | None,
    ) -> str:
        """Host ``content``; returns the MediaUrl Twilio would post for it."""
        with self._lock:
            media_sid = f"ME{next(self._seq):032x}"
            self.media[media_sid] = FakeMedia(content, content_type, **options)  # type: ignore[arg-type]
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Self:
        self.server.start()
        self.cdn.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.cdn.stop()

    def fail_next(self, status: int, code: int | None = None, times: int = 1) -> None:
        """Answer the next ``times`` calls with ``status`` (and Twilio error ``code``)."""
        with self._lock:
            self._failures.extend([(status, code)] * times)

    def _auth_ok(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.header("Authorization") == expected

    def _scripted_failure(self, request: Request) -> Reply | None:
        if not self._auth_ok(request):
            return _error(401, 20003, "Authenticate")
        if request.match is None or request.match["account"] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        with self._lock:
            if self._failures:
                status, code = self._failures.pop(0)
                return _error(status, code, "scripted failure")
        return None

    def _create_message(self, request: Request) -> Reply:
        failure = self._scripted_failure(request)
        if failure:
            return failure
        form = request.form()
        sid = f"SM{next(self._seq):032x}"
        from_ = form.get("From", [""])[0]
        service = form.get("MessagingServiceSid", [""])[0]
        if bool(from_) == bool(service):  # Twilio's 21603 / 21704: exactly one of the two
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        message = SentMessage(
            sid=sid,
            to=form["To"][0],
            from_=from_,
            body=form["Body"][0],
            messaging_service_sid=service,
            status_callback=form.get("StatusCallback", [""])[0],
        )
        with self._lock:
            self.sent.append(message)
        payload = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": message.to,
            "from": message.from_,
            "body": message.body,
            "messaging_service_sid": service or None,
            # A Messaging Service first accepts the message, then picks a sender and queues it.
            "status": "accepted" if service else "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        return Reply(201, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def _delete_media(self, request: Request) -> Reply:
        failure = self._scripted_failure(request)
        if failure:
            return failure
        assert request.match is not None
        with self._lock:
            self.deleted_media.append((request.match["msid"], request.match["mesid"]))
        return Reply(204)

    def _get_media(self, request: Request) -> Reply:
        failure = self._scripted_failure(request)
        if failure:
            return failure
        assert request.match is not None
        media = self.media.get(request.match["mesid"])
        if media is None:
            return _error(404, 20404, "The requested resource was not found")
        with self._lock:
            media.fetches += 1
            if media.not_found_times > 0:
                media.not_found_times -= 1
                return _error(404, 20404, "The requested resource was not found")
        return Reply(307, b"", {"Location": f"{self.cdn.url}/media/{request.match['mesid']}"})

    def _cdn_media(self, request: Request) -> Reply:
        assert request.match is not None
        media = self.media.get(request.match["mesid"])
        if media is None:
            return Reply(404, b"NoSuchKey")
        # A generator, so the fake holds one chunk at a time (memory tests measure this process).
        chunks = (media.content[i : i + media.chunk_size] for i in range(0, len(media.content), media.chunk_size))
        length = media.content_length
        if length is None:
            return Reply(200, chunks, {"Content-Type": media.content_type}, media.chunk_delay, len(media.content))
        if length < 0:
            return Reply(200, chunks, {"Content-Type": media.content_type}, media.chunk_delay)
        return Reply(200, chunks, {"Content-Type": media.content_type}, media.chunk_delay, length)


def _error(status: int, code: int | None, message: str) -> Reply:
    body = {
        "status": status,
        "message": message,
        "code": code,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    headers = {"Content-Type": "application/json"}
    if status == 429:
        headers["Retry-After"] = "0"
    return Reply(status, json.dumps(body).encode(), headers)
