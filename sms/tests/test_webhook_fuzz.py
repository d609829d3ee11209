"""Property: no signed delivery, however hostile, gets a 5xx from the webhook (a 5xx means "outage",
and Twilio does not retry it). Hypothesis builds random forms around Twilio's parameters."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms.tests.webhook_client import SENDER, post_webhook
from sms.webhook.payload import WebhookPayloadError, inbound_sms_parse

pytestmark = pytest.mark.django_db

ODD = ["", "0", "1", "10", "11", "-1", "\u00b2", "\u0663", "\x00", "9" * 30, " 2 ", "1e3"]

# Text that stresses what PostgreSQL and the parser refuse: NUL, other controls, Unicode digits,
# surrogate-free astral characters, and lengths around the column limits.
hostile_text = st.one_of(
    st.sampled_from(ODD),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet=st.sampled_from("\x00\x01\u00b2\u0663 +1a/:.\U0001f600"), max_size=20),
    st.integers(min_value=0, max_value=1100).map(lambda n: "x" * n),
)
names = st.sampled_from(
    [
        "Body",
        "To",
        "From",
        "MessageSid",
        "AccountSid",
        "NumMedia",
        "NumSegments",
        "MediaUrl0",
        "MediaContentType0",
        "MediaUrl1",
        "MediaContentType1",
        "MessagingServiceSid",
        "Other\x00",
    ]
)


@st.composite
def forms(draw: st.DrawFn) -> dict[str, str]:
    form = {
        "MessageSid": "SM" + draw(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)),
        "AccountSid": django_settings.TWILIO_ACCOUNT_SID,
        "From": draw(st.sampled_from([SENDER, "+15005550006"])),
        "To": "+15005550006",
        "Body": "hello",
        "NumMedia": "0",
    }
    form.update(draw(st.dictionaries(names, hostile_text, max_size=6)))
    if draw(st.booleans()):
        form["MediaUrl0"] = "https://api.twilio.com/2010-04-01/Media/" + draw(hostile_text)
    return form


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=forms())
def test_parser_raises_only_payload_errors(form):
    try:
        inbound_sms_parse(form)
    except WebhookPayloadError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=forms())
def test_signed_random_forms_never_get_a_5xx(form, verified):
    response = post_webhook(Client(), form)
    assert response.status_code < 500, (form, response.content)
    assert response.status_code in (200, 400, 403), (form, response.content)
