"""What a test or a tool starts and stops (a fake server, a live server process, a proxy), used
as a context manager: ``with FakeServer() as server:`` starts it, leaving the block stops it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Startable(ABC):
    @abstractmethod
    def start(self) -> Self:
        """Start, and return once ready."""

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
