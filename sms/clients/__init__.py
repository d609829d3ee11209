"""Adapters to outside systems (Twilio, media hosts, Speech-to-Text, Gemini), one module each.

Each module's ``get_<system>_client()`` returns the process's one client, made by a
:class:`ClientFactory`: built from settings on first use, thread-safe, and dropped when a
setting it was built from changes (Django's ``setting_changed``, which ``override_settings``
and the tests' ``settings`` fixture send), so a lookup costs an attribute read, not a
comparison of settings on every call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from django.core.signals import setting_changed

T = TypeVar("T")


class ClientFactory(Generic[T]):
    def __init__(self, build: Callable[[], T], *, settings_names: Iterable[str]) -> None:
        self._build = build
        self._names = frozenset(settings_names)
        self._lock = threading.Lock()
        self._client: T | None = None
        setting_changed.connect(self._setting_changed, weak=False)

    def get(self) -> T:
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    def reset(self) -> None:
        with self._lock:
            self._client = None

    def _setting_changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting in self._names:
            self.reset()
