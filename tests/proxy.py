"""A TCP proxy a live test puts in front of PostgreSQL or Redis to cut the service off and back.

``cut()`` closes every open connection and refuses new ones (they are accepted and closed at
once, as a crashed server's port would reset them); ``restore()`` forwards again. The machine's
own servers are never touched.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Self

from devkit.lifecycle import Startable


class TcpProxy(Startable):
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._is_cut = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def cut(self) -> None:
        with self._lock:
            self._is_cut = True
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        with self._lock:
            self._is_cut = False

    def stop(self) -> None:
        self._stopped.set()
        self.cut()
        _close(self._listener)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                is_cut = self._is_cut
            if is_cut:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        with selectors.DefaultSelector() as sel:
            for sock in peers:
                sel.register(sock, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in sel.select(timeout=1):
                        ready = key.fileobj
                        assert isinstance(ready, socket.socket)
                        data = ready.recv(65536)
                        if not data:
                            raise ConnectionError
                        peers[ready].sendall(data)
                    if self._stopped.is_set():
                        return
            except (OSError, ConnectionError, ValueError):
                pass
            finally:
                for sock in peers:
                    _close(sock)
                with self._lock:
                    self._open.difference_update(peers)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
