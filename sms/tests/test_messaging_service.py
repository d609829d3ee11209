"""Messaging Services: sends go through TWILIO_MESSAGING_SERVICE_SID instead of From (checked
against the Twilio fake), inbound MessagingServiceSid is stored and may be required to match."""

from __future__ import annotations

import pytest
from django.test import Client

from devkit.fakes.twilio import FakeTwilio
from sms.clients.twilio import get_twilio_client
from sms.models import InboundMessage, OutboundMessage
from sms.relay import outbox_dispatch
from sms.tests.webhook_client import SENDER, post_webhook, sms

pytestmark = pytest.mark.django_db

SERVICE = "MG9752274e9e519418a7406176694466fa"


def test_sends_go_through_the_messaging_service_when_set(settings, fake_twilio: FakeTwilio) -> None:
    settings.TWILIO_MESSAGING_SERVICE_SID = SERVICE
    settings.SMS_STATUS_CALLBACK_URL = "https://sms.example.com/api/sms/status"
    sent = get_twilio_client().send_sms(
        to=SENDER, body="Saved 1 item", status_callback=settings.SMS_STATUS_CALLBACK_URL
    )
    [message] = fake_twilio.sent
    assert (message.messaging_service_sid, message.from_, message.sid) == (SERVICE, "", sent.sid)
    assert message.status_callback == "https://sms.example.com/api/sms/status"
    assert sent.status == "accepted"


def test_without_a_messaging_service_sends_go_from_the_number(settings, fake_twilio: FakeTwilio) -> None:
    get_twilio_client().send_sms(to=SENDER, body="hi")
    [message] = fake_twilio.sent
    assert (message.messaging_service_sid, message.from_) == ("", settings.TWILIO_PHONE_NUMBER)


def test_a_confirmation_through_the_messaging_service_is_recorded(settings, fake_twilio: FakeTwilio, verified) -> None:
    settings.TWILIO_MESSAGING_SERVICE_SID = SERVICE
    post_webhook(Client(), sms())
    outbox_dispatch()
    [message] = fake_twilio.sent
    assert message.messaging_service_sid == SERVICE
    row = OutboundMessage.objects.get()
    assert (row.message_sid, row.status, row.purpose) == (message.sid, "accepted", "confirmation")


def test_inbound_messaging_service_sid_is_stored(verified) -> None:
    params = sms(MessagingServiceSid=SERVICE)
    post_webhook(Client(), params)
    assert InboundMessage.objects.get(message_sid=params["MessageSid"]).messaging_service_sid == SERVICE
    params = sms()
    del params["MessagingServiceSid"]
    post_webhook(Client(), params)
    assert InboundMessage.objects.get(message_sid=params["MessageSid"]).messaging_service_sid == ""


def test_messaging_service_may_be_required_to_match(settings, verified) -> None:
    settings.TWILIO_MESSAGING_SERVICE_SID = SERVICE
    assert post_webhook(Client(), sms(MessagingServiceSid="MG" + "0" * 32))["X-SMS-Outcome"] == "accepted"
    settings.SMS_WEBHOOK_REQUIRE_MESSAGING_SERVICE = True
    other = sms(MessagingServiceSid="MG" + "0" * 32)
    response = post_webhook(Client(), other)
    assert response.status_code == 403
    assert not InboundMessage.objects.filter(message_sid=other["MessageSid"]).exists()
    assert post_webhook(Client(), sms(MessagingServiceSid=SERVICE))["X-SMS-Outcome"] == "accepted"
