"""gunicorn configuration. Everything tunable comes from the environment.

Prometheus multiprocess mode: the metrics directory is set before any worker imports
prometheus_client; when the master starts, the files of exited processes are removed (an
earlier run's would be summed in); a worker's live gauges are dropped when it exits.
"""

import os
from typing import Any

from performance.multiprocess import dead_process_files_remove, metrics_dir_setup, process_dead_mark

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Two per core: measured best for the webhook with sync workers (docs/PERFORMANCE.md).
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1))))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "0"))
# Heartbeat files on tmpfs: a worker blocked on a slow disk must not look dead.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)
# The access log goes to stdout unless GUNICORN_ACCESSLOG names a file or is "off"; numbers in
# it are masked, and LOG_FORMAT=json makes its lines JSON (smsgateway/gunicorn_logging.py).
_accesslog = os.environ.get("GUNICORN_ACCESSLOG", "").strip()
accesslog = None if _accesslog.lower() in ("off", "false", "none") else (_accesslog or "-")
logger_class = "smsgateway.gunicorn_logging.MaskingLogger"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
proc_name = "smsgateway"
# Headers and request lines Twilio sends are small; anything larger is not Twilio.
limit_request_line = 8190
limit_request_fields = 100
# No control socket (gunicorn >= 25.1 opens one under $HOME by default): nothing here uses
# it, and it would fail in a read-only container home.
control_socket_disable = True

# Shared with the host's relay and Celery workers (performance/multiprocess.py), so /metrics and
# the performance pages sum web and processing work; a container keeps its own.
_metrics_dir = metrics_dir_setup()
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={_metrics_dir}"]


def on_starting(server: object) -> None:
    # Files of exited processes (an earlier run) go; a running Celery worker's stay.
    dead_process_files_remove(_metrics_dir)


def child_exit(server: object, worker: Any) -> None:
    process_dead_mark(worker.pid)
