"""Speaking Twilio: Advanced Opt-Out's OptOutType, Twilio answering keywords itself, channels
other than SMS, and what each message costs in texts."""

from __future__ import annotations

import pytest
from django.test import Client

from devkit.fakes.twilio import FakeTwilio
from devkit.payloads import load_payload, with_new_sid
from sms.models import InboundMessage, OptOut, OutboundMessage
from sms.relay import outbox_dispatch
from sms.senders import number_is_opted_out
from sms.tests.webhook_client import SENDER, post_webhook, reply_text, sms

pytestmark = pytest.mark.django_db


# --- Advanced Opt-Out -------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["Arrêt", "PARAR", "baja por favor"])
def test_opt_out_type_stop_with_a_translated_keyword_opts_out(verified, body: str) -> None:
    """Twilio recognised a French/Spanish/custom opt-out word our list does not know."""
    response = post_webhook(Client(), sms(Body=body, OptOutType="STOP"))
    assert response["X-SMS-Outcome"] == "opted_out"
    assert reply_text(response) is None
    assert number_is_opted_out(number=SENDER)
    # Never a note: only the record that this MessageSid was acted on (replays change nothing).
    assert list(InboundMessage.objects.values_list("status", "outcome")) == [("processed", "keyword_opted_out")]
    assert OptOut.objects.get(number=SENDER).keyword == body.upper()[:16]


@pytest.mark.parametrize(
    ("stop", "start"),
    [
        pytest.param(
            {"Body": "Arrêt", "OptOutType": "STOP"},
            {"Body": "Comenzar", "OptOutType": "START"},
            id="translated_keywords",
        ),
        # A custom keyword set: Twilio says START although the body is on our STOP list.
        pytest.param({"Body": "STOP"}, {"Body": "cancel", "OptOutType": "START"}, id="authoritative_over_the_body"),
    ],
)
def test_opt_out_type_start_opts_back_in(verified, stop: dict[str, str], start: dict[str, str]) -> None:
    post_webhook(Client(), sms(**stop))
    response = post_webhook(Client(), sms(**start))
    assert response["X-SMS-Outcome"] == "opted_in"
    assert not number_is_opted_out(number=SENDER)


def test_opt_out_type_help_with_a_translated_keyword_is_help(verified) -> None:
    response = post_webhook(Client(), sms(Body="Ayuda", OptOutType="HELP"))
    assert response["X-SMS-Outcome"] == "help"
    assert list(InboundMessage.objects.values_list("status", "outcome")) == [("processed", "keyword_help")]


def test_unknown_opt_out_type_falls_back_to_the_body(verified) -> None:
    response = post_webhook(Client(), sms(Body="Lunch with Sam", OptOutType="SOMETHING"))
    assert response["X-SMS-Outcome"] == "accepted"
    response = post_webhook(Client(), sms(Body="stop", OptOutType=""))
    assert response["X-SMS-Outcome"] == "opted_out"


# --- who answers keywords ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "outcome"),
    [("inbound_sms__keyword_start", "opted_in"), ("inbound_sms__keyword_help", "help")],
)
def test_while_twilio_answers_keywords_we_reply_nothing(settings, verified, fixture: str, outcome: str) -> None:
    assert settings.SMS_TWILIO_HANDLES_KEYWORD_REPLIES is True  # the default, Twilio's behaviour
    response = post_webhook(Client(), with_new_sid(load_payload(fixture)))
    assert response["X-SMS-Outcome"] == outcome
    assert reply_text(response) is None


def test_with_keyword_replies_ours_we_answer_start_and_help(settings, verified) -> None:
    settings.SMS_TWILIO_HANDLES_KEYWORD_REPLIES = False
    start = post_webhook(Client(), with_new_sid(load_payload("inbound_sms__keyword_start")))
    assert reply_text(start) == settings.SMS_OPT_IN_REPLY
    help_ = post_webhook(Client(), with_new_sid(load_payload("inbound_sms__keyword_help")))
    assert reply_text(help_) == settings.SMS_HELP_REPLY


# --- one paid text per note -------------------------------------------------------------------


def _texts_for(fake_twilio: FakeTwilio, params: dict[str, str]) -> tuple[str, int]:
    """What one inbound message costs us: TwiML replies plus REST sends, after processing."""
    sent_before = len(fake_twilio.sent)
    response = post_webhook(Client(), params)
    outbox_dispatch()  # eager tasks: processing (and its confirmation) runs here
    twiml = 1 if reply_text(response) is not None else 0
    return response["X-SMS-Outcome"], twiml + len(fake_twilio.sent) - sent_before


def test_reply_count_stop_start_help_and_a_note_cost_the_documented_texts(fake_twilio: FakeTwilio, verified) -> None:
    """docs/DEPLOYMENT.md, "Costs": with the defaults STOP, START and HELP cost us nothing (Twilio
    answers them), a note costs one text (the confirmation, no TwiML ack)."""
    assert _texts_for(fake_twilio, with_new_sid(load_payload("inbound_sms__keyword_stop"))) == ("opted_out", 0)
    assert _texts_for(fake_twilio, with_new_sid(load_payload("inbound_sms__keyword_start"))) == ("opted_in", 0)
    assert _texts_for(fake_twilio, with_new_sid(load_payload("inbound_sms__keyword_help"))) == ("help", 0)
    assert _texts_for(fake_twilio, sms()) == ("accepted", 1)
    assert [m.purpose for m in OutboundMessage.objects.all()] == ["confirmation"]


def test_reply_count_with_the_ack_switched_on_a_note_costs_two(settings, fake_twilio: FakeTwilio, verified) -> None:
    settings.SMS_ACK_REPLY = "Got it!"
    assert _texts_for(fake_twilio, sms()) == ("accepted", 2)
    settings.SMS_CONFIRMATION_ENABLED = False
    assert _texts_for(fake_twilio, sms()) == ("accepted", 1)


# --- channels ---------------------------------------------------------------------------------


def test_whatsapp_sender_is_refused_without_a_reply(fake_twilio: FakeTwilio, verified) -> None:
    """Even when the number behind it is a verified user's: WhatsApp is not the channel they verified."""
    params = sms(From="whatsapp:" + SENDER, To="whatsapp:+15005550006")
    response = post_webhook(Client(), params)
    assert (response.status_code, response["X-SMS-Outcome"]) == (200, "unsupported_channel")
    assert reply_text(response) is None
    assert not InboundMessage.objects.exists()
    assert fake_twilio.sent == []
