"""Celery: the broker, task behaviour and beat."""

from __future__ import annotations

from smsgateway.settings.data import REDIS_URL
from smsgateway.settings.env import env_bool, env_int, env_str

# =============================================================================
# Celery
# =============================================================================
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not (REDIS_URL or env_str("CELERY_BROKER_URL")))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A task whose worker died is redelivered rather than dropped.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_DEFAULT_QUEUE = "sms"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Must exceed the longest task so acks_late redelivery does not duplicate live work.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # How often a worker sweeps for messages of dead workers older than visibility_timeout
    # (roughly interval x throttle seconds).
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery beat: periodic clean-up of stale temp files and media past retention. The task is
# sms.tasks.media_cleanup_task, registered under its earlier name (sms/tasks.py).
CELERY_BEAT_SCHEDULE = {
    "sms-cleanup-media": {
        "task": "sms.tasks.cleanup_media",
        "schedule": float(env_int("SMS_CLEANUP_MEDIA_INTERVAL_SECONDS", 3600)),
    },
}
# Beat touches BEAT_HEARTBEAT_FILE on every tick (smsgateway/heartbeat.py), at least every
# CELERY_BEAT_MAX_LOOP_INTERVAL seconds: what its container health check reads. Empty: no file.
CELERY_BEAT_SCHEDULER = "smsgateway.heartbeat.HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 30
BEAT_HEARTBEAT_FILE = env_str("BEAT_HEARTBEAT_FILE")
