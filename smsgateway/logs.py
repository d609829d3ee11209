"""Log context and formats (``LOGGING`` in settings; docs/DEPLOYMENT.md, "Logs").

``log_context(message_sid=…, message_id=…)`` sets fields for everything logged inside it, in
this thread or task (a ``contextvars`` variable); the webhook, the relay and the processing
task set a message's MessageSid and id, and the Celery signals in ``smsgateway/celery.py`` set
each task's id and the context fields among its keyword arguments. Celery's "Task … received"
line is logged in the worker's main process, outside any task: ``ContextFilter`` reads those
fields from the task arguments Celery attaches to the record. It copies the fields onto every
record: the ``plain`` format shows them after the message
(``[message_sid=SM… message_id=12 task_id=…]``), ``JsonFormatter`` (``LOG_FORMAT=json``) writes
one JSON object per line with timestamp, level, logger, message, process and the context fields.

No Django import here: gunicorn's config loads it before Django is set up.
"""

from __future__ import annotations

import ast
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("message_sid", "message_id", "task_id")

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("smsgw_log_context", default={})  # noqa: B039  (never mutated)


def log_context_get() -> dict[str, Any]:
    return dict(_context.get())


def log_context_push(**fields: Any) -> contextvars.Token[dict[str, Any]]:
    """Add ``fields`` (None values ignored) to the context; hand the token to ``log_context_pop``."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def log_context_pop(token: contextvars.Token[dict[str, Any]]) -> None:
    _context.reset(token)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = log_context_push(**fields)
    try:
        yield
    finally:
        log_context_pop(token)


def context_fields_of(values: dict[str, Any]) -> dict[str, Any]:
    """The context fields among a task's keyword arguments."""
    return {name: values[name] for name in CONTEXT_FIELDS if name in values}


def _celery_task_fields(record: logging.LogRecord) -> dict[str, Any]:
    # Celery passes a task line's values as ``extra={"data": {...}}``: "id" is the task's id,
    # "kwargs" the repr of its keyword arguments (ids and MessageSids: literals).
    data = getattr(record, "data", None)
    if not isinstance(data, dict):
        return {}
    fields = {"task_id": data["id"]} if data.get("id") else {}
    kwargs = data.get("kwargs")
    if isinstance(kwargs, str) and kwargs.startswith("{"):
        try:
            values = ast.literal_eval(kwargs)
        except (ValueError, SyntaxError):
            values = None
        if isinstance(values, dict):
            fields.update(context_fields_of(values))
    return fields


class ContextFilter(logging.Filter):
    """Puts the context fields on each record (``record.context`` is their plain-text form)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        if record.name.startswith("celery."):
            context = {**_celery_task_fields(record), **context}
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        shown = [(name, getattr(record, name)) for name in CONTEXT_FIELDS if getattr(record, name) is not None]
        record.context = (" [" + " ".join(f"{k}={v}" for k, v in shown) + "]") if shown else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; an exception's traceback goes in ``exception``, escaped."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class NumbersMaskFilter(logging.Filter):
    """Masks phone numbers in records whose text comes from outside (request lines, URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = numbers_mask(record.getMessage())
        record.args = None
        return True


# A phone number in a URL or request line: +digits, or %2B digits URL-encoded; 7 digits and up.
_NUMBER = re.compile(r"(?:\+|%2[Bb])(\d{3,})(\d{4})\b")


def numbers_mask(text: str) -> str:
    """Every ``+14155550123`` (or ``%2B14155550123``) in ``text`` becomes ``***0123``."""
    return _NUMBER.sub(lambda m: "***" + m.group(2), text)
