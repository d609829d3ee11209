"""Work waiting outside the Celery queue, read when someone asks (stats, admin, health, /metrics).

``performance`` knows nothing of SMS: an app registers a provider from its ``AppConfig.ready()``
(the SMS app reports its outbox and its intake spool, ``sms/relay.py``). A backlog marked
``degrades`` turns the health document to *degraded* while it is not empty: the service still
answers, but something it accepted is waiting on a dependency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backlog:
    name: str
    depth: int | None  # None: could not be read
    oldest_seconds: float | None = None
    degrades: bool = False  # not empty = the health document says degraded
    help: str = ""


_providers: dict[str, Callable[[], list[Backlog]]] = {}


def register_backlog(name: str, provider: Callable[[], list[Backlog]]) -> None:
    _providers[name] = provider


def backlogs_read() -> list[Backlog]:
    """Every registered backlog, measured now. A provider that fails reports depth None."""
    found: list[Backlog] = []
    for name, provider in _providers.items():
        try:
            found.extend(provider())
        except Exception:
            logger.warning("backlog %s unavailable", name, exc_info=True)
            found.append(Backlog(name=name, depth=None))
    return found


def backlogs_as_dicts() -> list[dict[str, object]]:
    return [asdict(b) for b in backlogs_read()]


def degraded(backlogs: list[Backlog]) -> list[str]:
    return [b.name for b in backlogs if b.degrades and b.depth]
