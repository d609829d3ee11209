"""A small threaded HTTP server on 127.0.0.1 for fakes of outside systems.

Register routes with ``server.route(method, pattern)(handler)``; a handler receives a
:class:`Request` and returns a :class:`Reply`. A reply body may be bytes or an iterable of
chunks (optionally with a delay between chunks, for slow-drip tests). Every request is
recorded in ``server.requests``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

from devkit.lifecycle import Startable


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return default


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunk_delay: float = 0.0
    content_length: int | None = None  # None: len(body) for bytes, chunked otherwise


Handler = Callable[[Request], Reply]


class FakeServer(Startable):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers=dict(self.headers.items()),
                    body=body,
                )
                with server._lock:
                    server.requests.append(request)
                reply = server._dispatch(request)
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if isinstance(reply.body, bytes | bytearray):
                    length = reply.content_length if reply.content_length is not None else len(reply.body)
                    self.send_header("Content-Length", str(length))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(reply.body)
                    return
                if reply.content_length is not None:
                    self.send_header("Content-Length", str(reply.content_length))
                    self.end_headers()
                    for chunk in reply.body:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if reply.chunk_delay:
                            time.sleep(reply.chunk_delay)
                    self.close_connection = True
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply.body:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    if reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        # port 0: any free port; a fixed one when another process must know it in advance.
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((method.upper(), re.compile(pattern + r"\Z"), handler))
            return handler

        return register

    def _dispatch(self, request: Request) -> Reply:
        for method, pattern, handler in self.routes:
            if method in (request.method, "*"):
                match = pattern.match(request.path)
                if match:
                    request.match = match
                    try:
                        return handler(request)
                    except Exception as exc:  # a broken fake should be loud, not hang a test
                        return Reply(500, f"fake handler error: {exc!r}".encode())
        return Reply(404, b"no route")

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name=f"fake-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
