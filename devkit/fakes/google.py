"""What the Google API fakes (Speech-to-Text, Gemini) share: one FakeServer, a fixed latency,
and scripted failures answered with a Google-shaped error body."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Self

from devkit.fakes.server import FakeServer, Handler, Reply, Request
from devkit.lifecycle import Startable

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass
class GoogleFake(Startable):
    latency: float = 0.0
    server: FakeServer = field(default_factory=FakeServer)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def _serve(self, pattern: str, handler: Handler) -> None:
        """Answer ``POST pattern`` with ``handler``, after the latency and unless a failure is scripted."""

        def answer(request: Request) -> Reply:
            failure = self._scripted_failure()
            return handler(request) if failure is None else failure

        self.server.route("POST", pattern)(answer)

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` calls with ``status`` and a Google-shaped error."""
        with self._lock:
            self._failures.extend([status] * times)

    def _scripted_failure(self) -> Reply | None:
        """Wait the latency, then the scripted failure this call answers with, if any."""
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            status = self._failures.pop(0) if self._failures else None
        if status is None:
            return None
        error = {
            "error": {"code": status, "message": "scripted failure", "status": STATUS_NAMES.get(status, "UNKNOWN")}
        }
        return Reply(status, json.dumps(error).encode(), {"Content-Type": "application/json"})
