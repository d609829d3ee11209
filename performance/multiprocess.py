"""The Prometheus multiprocess directory of the processes of one host or one container.

gunicorn's workers, the relay and Celery's workers write their metrics to files in one directory
(``PROMETHEUS_MULTIPROC_DIR``, default ``<tmp>/smsgateway-metrics``), named by PID. On one host
they share it, so /metrics, the performance API and the admin page sum web *and* processing
work. Containers each keep their own (each numbers its PIDs from 1: a shared volume would
collide) and the worker and relay serve their own /metrics (``SMS_WORKER_METRICS_PORT``,
performance/exporter.py; docs/DEPLOYMENT.md, "Metrics"). Starting gunicorn removes
the files of processes that are no longer alive (a restart's totals begin again; Prometheus
treats it as a counter reset) but never those of a running Celery worker.

No Django or prometheus_client import here: gunicorn's config and the Celery app call this
before prometheus_client is first imported, which is when it reads the directory.
"""

from __future__ import annotations

import os
import re
import tempfile

DEFAULT_DIR = os.path.join(tempfile.gettempdir(), "smsgateway-metrics")
_FILE_PID = re.compile(r"_(\d+)\.db$")


def metrics_dir_setup() -> str:
    """Point this process (and its children) at the shared directory; returns its path."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or DEFAULT_DIR
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.makedirs(path, exist_ok=True)
    return path


def dead_process_files_remove(path: str) -> int:
    """Delete the metric files of processes that have exited; returns how many went."""
    removed = 0
    for name in os.listdir(path):
        match = _FILE_PID.search(name)
        if match and not _is_alive(int(match.group(1))):
            try:
                os.remove(os.path.join(path, name))
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def process_dead_mark(pid: int) -> None:
    """Drop a finished process's live gauges (its counters stay until the next prune)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, path)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
