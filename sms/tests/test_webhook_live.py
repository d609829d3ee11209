"""The webhook under real concurrency: gunicorn with several worker processes on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests
from django.core.management import call_command

from devkit.payloads import load_payload, with_new_sid
from sms.models import InboundMessage
from sms.tests.factories import phone_number_create
from sms.tests.webhook_client import sign
from tests.live import Gunicorn
from tests.worker import RelayProcess

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SENDER = "+14155550100"


@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[Gunicorn]:
    with Gunicorn(workers=4, threads=2) as gunicorn:
        yield gunicorn


def _post_all(url: str, payloads: list[dict[str, str]]) -> list[requests.Response]:
    """POST every payload at the same instant (one thread each, released together)."""
    barrier = threading.Barrier(len(payloads))
    responses: list[requests.Response | None] = [None] * len(payloads)

    def post(i: int) -> None:
        body = urlencode(payloads[i])
        headers = {
            "X-Twilio-Signature": sign(url, payloads[i]),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        barrier.wait()
        responses[i] = requests.post(url, data=body, headers=headers, timeout=30)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def test_twenty_simultaneous_deliveries_of_one_message_are_stored_and_processed_once(server: Gunicorn) -> None:
    phone_number_create(number=SENDER, verified=True)
    params = with_new_sid(load_payload("inbound_sms__plain"))
    responses = _post_all(server.url + "/api/sms/webhook", [params] * 20)
    assert [r.status_code for r in responses] == [200] * 20
    outcomes = Counter(r.headers["X-SMS-Outcome"] for r in responses)
    assert outcomes == {"accepted": 1, "duplicate": 19}
    message = InboundMessage.objects.get(message_sid=params["MessageSid"])
    # The relay (eager tasks: it processes in its own process) handed it out once: one claim,
    # and one set of items (the note, Sarah, Boston and the running tag).
    with RelayProcess(env={"CELERY_TASK_ALWAYS_EAGER": "true"}) as relay:
        deadline = time.monotonic() + 60
        while InboundMessage.objects.get(pk=message.pk).status != "processed" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert InboundMessage.objects.get(pk=message.pk).status == "processed", relay.output()[-3000:]
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("processed", 1)
    assert sorted(message.items.values_list("kind", flat=True)) == ["location", "note", "person", "tag"]


def test_burst_of_thirty_from_one_sender_accepts_exactly_the_limit(server: Gunicorn) -> None:
    phone_number_create(number=SENDER, verified=True)
    payloads = [with_new_sid(load_payload("inbound_sms__plain")) for _ in range(30)]
    responses = _post_all(server.url + "/api/sms/webhook", payloads)
    assert [r.status_code for r in responses] == [200] * 30
    outcomes = Counter(r.headers["X-SMS-Outcome"] for r in responses)
    assert outcomes == {"accepted": 20, "rate_limited": 10}
    assert InboundMessage.objects.filter(from_number=SENDER).count() == 20
    told = [r.text for r in responses if r.headers["X-SMS-Outcome"] == "rate_limited" and "<Message>" in r.text]
    assert len(told) == 1 and "limit of 20 messages per hour" in told[0]


def test_sms_simulate_texts_the_gateway(server: Gunicorn, capsys: pytest.CaptureFixture[str]) -> None:
    phone_number_create(number=SENDER, verified=True)
    call_command("sms_simulate", "--url", server.url + "/api/sms/webhook", "--from", SENDER, "--body", "Lunch with Sam")
    out = capsys.readouterr().out
    assert "HTTP 200  outcome: accepted" in out
    assert "reply: (none)" in out  # no TwiML ack by default: the confirmation is the one text
    sid = out.split("MessageSid: ")[1].split()[0]
    message = InboundMessage.objects.get(message_sid=sid)
    assert message.body == "Lunch with Sam"


def test_sms_simulate_sends_mms_media(server: Gunicorn, capsys: pytest.CaptureFixture[str]) -> None:
    phone_number_create(number=SENDER, verified=True)
    call_command(
        "sms_simulate",
        "--url",
        server.url + "/api/sms/webhook",
        "--from",
        SENDER,
        "--media",
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1:image/jpeg",
    )
    out = capsys.readouterr().out
    assert "outcome: accepted" in out
    sid = out.split("MessageSid: ")[1].split()[0]
    assert list(InboundMessage.objects.get(message_sid=sid).media.values_list("declared_content_type", flat=True)) == [
        "image/jpeg"
    ]


def test_sms_simulate_shows_a_refusal(server: Gunicorn, capsys: pytest.CaptureFixture[str], settings) -> None:
    settings.TWILIO_AUTH_TOKEN = "not-the-servers-token"
    call_command("sms_simulate", "--url", server.url + "/api/sms/webhook", "--from", SENDER, "--body", "hi")
    assert "HTTP 403  outcome: forbidden" in capsys.readouterr().out
