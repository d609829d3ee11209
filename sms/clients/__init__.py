"""Adapters to outside systems (Twilio, media hosts, Speech-to-Text, Gemini), one module each.

Each module's ``get_<system>_client()`` returns the process's one client: a
:class:`ClientFactory` around the function that builds it from settings. The client is built on
first use, thread-safe, and dropped when a setting it was built from changes (Django's
``setting_changed``, which ``override_settings`` and the tests' ``settings`` fixture send), so a
lookup costs an attribute read, not a comparison of settings on every call. The build reads its
settings through its argument, a :class:`SettingsRead`, which notes their names: the settings a
client depends on are the ones its build read, with no second list to keep in step.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.signals import setting_changed

T = TypeVar("T")


class SettingsRead:
    """Django's settings as one build reads them, noting the name of each setting read."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.names.add(name)
        return getattr(settings, name)


class ClientFactory(Generic[T]):
    """``get_x_client = ClientFactory(build)``, or ``@ClientFactory`` on the build: calling it returns
    the cached client, built by ``build`` on first use."""

    def __init__(self, build: Callable[[SettingsRead], T]) -> None:
        functools.update_wrapper(self, build)
        self._build = build
        self._lock = threading.Lock()
        self._client: T | None = None
        self._names: frozenset[str] = frozenset()
        setting_changed.connect(self._setting_changed, weak=False)

    def __call__(self) -> T:
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                read = SettingsRead()
                self._client = self._build(read)
                self._names = frozenset(read.names)
            return self._client

    def reset(self) -> None:
        with self._lock:
            self._client = None

    def _setting_changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting in self._names:
            self.reset()
