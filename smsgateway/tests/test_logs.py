"""Logs: one JSON object per line with LOG_FORMAT=json; every line of a message's life names its
MessageSid and id (and the Celery task id in the task); numbers stay masked, in the app's lines
and in gunicorn's access log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client

from devkit.payloads import load_payload, with_new_sid
from sms.models import InboundMessage
from sms.relay import outbox_dispatch
from sms.tests.factories import phone_number_create
from sms.tests.webhook_client import post_webhook
from smsgateway.logs import ContextFilter, JsonFormatter, log_context, numbers_mask
from tests.live import Gunicorn

SENDER = "+14155550100"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger also writes to a buffer through the JSON format, as LOG_FORMAT=json does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db(transaction=True)
def test_a_message_s_lines_from_webhook_to_task_carry_its_sid_id_and_task_id(
    json_log: io.StringIO, fake_twilio: Any, client: Client, settings: Any
) -> None:
    settings.SMS_RATE_LIMIT_PER_HOUR = 1  # so that the second delivery logs on the webhook
    phone_number_create(number=SENDER, verified=True)
    params = with_new_sid(load_payload("inbound_sms__plain", From=SENDER))
    sid = params["MessageSid"]
    assert post_webhook(client, params).status_code == 200
    limited = with_new_sid(load_payload("inbound_sms__plain", From=SENDER))
    assert post_webhook(client, limited)["X-SMS-Outcome"] == "rate_limited"
    with log_context(message_sid=None):  # the relay's own context: none
        outbox_dispatch()
    message = InboundMessage.objects.get(message_sid=sid)
    assert message.status == "processed"

    lines = _lines(json_log)  # each line parses: one object per line
    assert all({"timestamp", "level", "logger", "message", "process"} <= set(line) for line in lines)
    webhook_lines = [line for line in lines if line["logger"] == "sms.services.intake"]
    assert webhook_lines and {line.get("message_sid") for line in webhook_lines} == {limited["MessageSid"]}
    mine = [line for line in lines if line.get("message_sid") == sid]
    task_lines = [line for line in mine if "task_id" in line]
    assert task_lines, lines
    assert {line["message_id"] for line in task_lines} == {message.pk}
    assert any(line["logger"] == "sms.processing.pipeline" for line in task_lines)
    # Outside the message, no context leaks onto later lines.
    logging.getLogger("sms").info("after")
    assert "message_sid" not in _lines(json_log)[-1]
    assert SENDER not in json_log.getvalue() and SENDER[1:] not in json_log.getvalue()


def test_plain_format_shows_the_context() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s%(context)s"))
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("smsgateway.tests.plain")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with log_context(message_sid="SM1", message_id=7):
            logger.warning("stored")
        logger.warning("idle")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == ["WARNING stored [message_sid=SM1 message_id=7]", "WARNING idle"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET /x?To=%2B14155550123 HTTP/1.1", "GET /x?To=***0123 HTTP/1.1"),
        ("/links/+14155550123/", "/links/***0123/"),
        ("id=12345 +1234", "id=12345 +1234"),  # not a phone number
    ],
)
def test_numbers_are_masked_in_request_lines(text: str, masked: str) -> None:
    assert numbers_mask(text) == masked


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_gunicorn_json_logs_and_masked_access_log() -> None:
    with Gunicorn(workers=1, LOG_FORMAT="json") as web:
        requests.get(web.url + "/healthz?From=%2B14155550123&To=+14155550124", timeout=10)
        requests.get(web.url + "/links/+14155550125", timeout=10)
    output = web.output()  # after the stop: every line flushed
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any("/healthz?From=***0123&To=***0124" in line["message"] for line in access), access
    assert any("/links/***0125" in line["message"] for line in access), access
    for number in ("4155550123", "4155550124", "4155550125"):
        assert number not in output
