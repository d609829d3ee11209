"""Performance: metrics, the performance pages, health and /metrics access."""

from __future__ import annotations

from smsgateway.settings.env import env_float, env_int, env_list, env_str

# =============================================================================
# Metrics
# =============================================================================
# Set by gunicorn.conf.py (or the environment) before prometheus_client is imported.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
PROMETHEUS_EXPORT_MIGRATIONS = False
# Celery worker and relay processes serve their own /metrics on this port (0: not), for
# containers without a web server; same access rules as the web's /metrics.
SMS_WORKER_METRICS_PORT = env_int("SMS_WORKER_METRICS_PORT", 0)

# =============================================================================
# Performance pages, health and /metrics access
# =============================================================================
# Seconds between each process's pool snapshot in Redis (0 disables the publisher thread).
PERFORMANCE_SNAPSHOT_INTERVAL = env_float("PERFORMANCE_SNAPSHOT_INTERVAL", 10.0)
# Seconds each health check (PostgreSQL, Redis, broker) may take before it counts as failing.
PERFORMANCE_HEALTH_TIMEOUT = env_float("PERFORMANCE_HEALTH_TIMEOUT", 2.0)
# A process answers health from its last result this long: a flood of health requests then
# costs no database or Redis connections the webhook needs.
PERFORMANCE_HEALTH_CACHE_SECONDS = env_float("PERFORMANCE_HEALTH_CACHE_SECONDS", 2.0)
# Apps whose tables the database page reports (size, rows, index scans).
PERFORMANCE_DATABASE_APPS = env_list("PERFORMANCE_DATABASE_APPS", ["sms", "performance"])
# /metrics: open when both are empty; else the client address must be in the allowlist
# (addresses or CIDR networks) or send "Authorization: Bearer <token>".
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
METRICS_BEARER_TOKEN = env_str("METRICS_BEARER_TOKEN")
