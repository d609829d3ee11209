"""The Celery app. Configuration comes from Django settings in the CELERY_ namespace."""

import os
import sys
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_shutdown, worker_ready, worker_shutdown

from smsgateway.logs import context_fields_of, log_context_pop, log_context_push

# A worker fails closed: production settings unless told otherwise (manage.py, which imports this
# module too, has already chosen the local default for development).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgateway.settings.production")


def _is_worker_command(argv: list[str]) -> bool:
    return "celery" in os.path.basename(os.path.dirname(argv[0]) if argv[0].endswith("__main__.py") else argv[0]) and (
        "worker" in argv[1:]
    )


def _is_relay_command(argv: list[str]) -> bool:
    return os.path.basename(argv[0]) == "manage.py" and argv[1:2] == ["sms_relay"]


if _is_relay_command(sys.argv):
    # The relay's metrics (hand-overs, sweeps, spool) join the host's (or container's) directory.
    import atexit

    from performance.multiprocess import metrics_dir_setup, process_dead_mark

    metrics_dir_setup()
    atexit.register(process_dead_mark, os.getpid())

if _is_worker_command(sys.argv):
    # Before Django (and prometheus_client) load: the worker's metrics go to the host's
    # (or container's) directory, where /metrics and the performance pages sum them.
    from performance.multiprocess import metrics_dir_setup, process_dead_mark

    metrics_dir_setup()

    @worker_process_shutdown.connect(weak=False)
    def _child_metrics_dead(pid: int | None = None, **kwargs: Any) -> None:
        process_dead_mark(pid or os.getpid())

    @worker_shutdown.connect(weak=False)
    def _worker_metrics_dead(**kwargs: Any) -> None:
        process_dead_mark(os.getpid())

    @worker_ready.connect(weak=False)
    def _worker_metrics_serve(**kwargs: Any) -> None:
        # In the main process: a worker container has no web server, so it serves its own
        # /metrics (its children's files included), behind the web's access rules.
        from django.conf import settings

        if settings.SMS_WORKER_METRICS_PORT:
            from performance.exporter import metrics_server_start

            metrics_server_start(port=settings.SMS_WORKER_METRICS_PORT)


_task_log_tokens: dict[str, Any] = {}


@task_prerun.connect(weak=False)
def _task_log_context(task_id: str | None = None, kwargs: dict[str, Any] | None = None, **rest: Any) -> None:
    # Every line logged while a task runs names it, and the message its keyword arguments name
    # (Celery's "succeeded" and "Retry in" lines included: they come before task_postrun); an
    # eager task inside the relay restores the relay's context afterwards.
    if task_id:
        _task_log_tokens[task_id] = log_context_push(task_id=task_id, **context_fields_of(kwargs or {}))


@task_postrun.connect(weak=False)
def _task_log_context_end(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_log_tokens.pop(task_id or "", None)
    if token is not None:
        log_context_pop(token)


app = Celery("smsgateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
