"""Heartbeat files: a long-running loop touches its file after each pass, so a container health
check (deploy/healthcheck.py) can tell a loop that runs from one that is stuck or failing.

The relay touches ``SMS_RELAY_HEARTBEAT_FILE`` after each pass that succeeded (a pass that
cannot reach PostgreSQL does not count); Celery beat touches ``BEAT_HEARTBEAT_FILE`` on each tick
of ``HeartbeatScheduler``. Empty settings: no file.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)


def heartbeat_touch(*, path: str) -> None:
    """Set the file's modification time to now (creating it); never raises."""
    if not path:
        return
    try:
        with open(path, "a"):
            pass
        os.utime(path)
    except OSError:
        logger.warning("heartbeat: cannot touch %s", path, exc_info=True)


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default scheduler, touching ``BEAT_HEARTBEAT_FILE`` on every tick. Beat ticks at
    least every ``CELERY_BEAT_MAX_LOOP_INTERVAL`` seconds, however far away the next task is."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        heartbeat_touch(path=settings.BEAT_HEARTBEAT_FILE)
        return float(super().tick(*args, **kwargs))
