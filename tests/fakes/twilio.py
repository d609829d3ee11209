"""A fake Twilio REST API on 127.0.0.1 for the real ``twilio`` SDK.

Implements what smsgateway calls: create Message, delete Media. Checks HTTP Basic auth
against the account SID and token. Scripted failures (``fail_next``) answer the next
calls with Twilio-shaped errors.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field

from tests.fakes.server import FakeServer, Reply, Request

API = "/2010-04-01/Accounts/(?P<account>AC\\w+)"


@dataclass
class SentMessage:
    sid: str
    to: str
    from_: str
    body: str


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    server: FakeServer = field(default_factory=FakeServer)
    sent: list[SentMessage] = field(default_factory=list)
    deleted_media: list[tuple[str, str]] = field(default_factory=list)
    _failures: list[tuple[int, int | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.server.route("POST", API + r"/Messages\.json")(self._create_message)
        self.server.route("DELETE", API + r"/Messages/(?P<msid>\w+)/Media/(?P<mesid>\w+)\.json")(self._delete_media)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> FakeTwilio:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

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
        message = SentMessage(sid=sid, to=form["To"][0], from_=form.get("From", [""])[0], body=form["Body"][0])
        with self._lock:
            self.sent.append(message)
        payload = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": message.to,
            "from": message.from_,
            "body": message.body,
            "status": "queued",
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
