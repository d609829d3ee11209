"""Celery queue depth, measured when someone reads it (API, admin, /metrics scrape).

With the Redis broker a queue is a Redis list; kombu keeps one extra list per priority
step (``<queue>\\x06\\x16<priority>``), so the depth is the sum of their lengths.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

from performance import metrics

logger = logging.getLogger(__name__)

PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
TIMEOUT = 1.0


def queue_names() -> list[str]:
    return [settings.CELERY_TASK_DEFAULT_QUEUE]


def celery_queue_depth() -> dict[str, int | None]:
    """Messages waiting per queue; None when the broker cannot be asked (down, not Redis)."""
    broker_url = str(settings.CELERY_BROKER_URL)
    depths: dict[str, int | None] = {}
    if not broker_url.startswith(("redis://", "rediss://", "unix://")) or settings.CELERY_TASK_ALWAYS_EAGER:
        # Eager tasks never wait in a queue.
        return {name: 0 if settings.CELERY_TASK_ALWAYS_EAGER else None for name in queue_names()}
    client = redis.Redis.from_url(broker_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    try:
        for name in queue_names():
            keys = [name] + [f"{name}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.llen(key)
            depth = int(sum(pipe.execute()))
            depths[name] = depth
            metrics.QUEUE_DEPTH.labels(name).set(depth)
    except redis.RedisError:
        logger.warning("broker unavailable for queue depth", exc_info=True)
        return {name: None for name in queue_names()}
    finally:
        client.close()
    return depths
