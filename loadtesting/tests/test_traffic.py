import random
from typing import Any

import phonenumbers
import pytest
from twilio.request_validator import RequestValidator

from devkit.payloads import num_segments
from loadtesting.traffic import (
    BODIES,
    MediaSource,
    TrafficGenerator,
    generator_from_config,
    new_run_id,
    sender_number,
)

URL = "https://sms.example.com/api/sms/webhook"
TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "a" * 32


def make_generator(**overrides):
    options: dict[str, Any] = {
        "run_id": "0badc0de",
        "sign_url": URL,
        "auth_token": TOKEN,
        "account_sid": ACCOUNT,
        "to_number": "+15005550006",
        "senders": 50,
        "rng": random.Random(7),
    }
    options.update(overrides)
    return TrafficGenerator(**options)


def test_signature_validates_with_twilios_validator_for_sms_and_mms():
    traffic = make_generator()
    for params in (traffic.sms(), traffic.mms(), traffic.keyword("STOP")):
        request = traffic.sign("sms", params)
        assert RequestValidator(TOKEN).validate(URL, params, request.headers["X-Twilio-Signature"])


def test_signature_covers_the_public_url_not_the_posted_one():
    traffic = make_generator()
    params = traffic.sms()
    request = traffic.sign("sms", params)
    assert not RequestValidator(TOKEN).validate(
        "http://10.0.0.5:8000/api/sms/webhook", params, request.headers["X-Twilio-Signature"]
    )


def test_message_sids_are_unique_twilio_shaped_and_carry_the_run_id():
    traffic = make_generator()
    sids = [traffic.message()[1]["MessageSid"] for _ in range(500)]
    assert len(set(sids)) == 500
    for sid in sids:
        assert sid[:2] in {"SM", "MM"} and sid[2:10] == "0badc0de"
        assert len(sid) == 34 and int(sid[2:], 16) >= 0


def test_sms_payload_is_a_complete_twilio_delivery():
    payload = make_generator().sms(sender="+14157000003")
    assert payload["MessageSid"] == payload["SmsSid"] == payload["SmsMessageSid"]
    assert payload["From"] == "+14157000003"
    assert payload["To"] == "+15005550006"
    assert payload["AccountSid"] == ACCOUNT
    assert payload["NumMedia"] == "0"
    assert payload["Body"] in BODIES
    assert payload["NumSegments"] == str(num_segments(payload["Body"]))
    assert {"ApiVersion", "SmsStatus", "FromCountry", "ToCountry"} <= payload.keys()


def test_mms_has_one_to_three_attachments_with_matching_fields():
    traffic = make_generator()
    counts = set()
    for _ in range(200):
        payload = traffic.mms()
        n = int(payload["NumMedia"])
        counts.add(n)
        assert payload["MessageSid"].startswith("MM")
        for i in range(n):
            assert payload[f"MediaUrl{i}"].endswith(tuple(m.media_sid for m in traffic.media))
            assert f"/Messages/{payload['MessageSid']}/Media/ME" in payload[f"MediaUrl{i}"]
            assert payload[f"MediaContentType{i}"] in {"audio/amr", "image/jpeg", "text/vcard"}
        assert f"MediaUrl{n}" not in payload
        types = {payload[f"MediaContentType{i}"] for i in range(n)}
        assert len(types) == n  # mixed, never the same file twice
    assert counts == {1, 2, 3}


def test_media_urls_point_at_the_configured_media_host():
    media = (MediaSource("http://127.0.0.1:9999", "ME" + "1" * 32, "image/jpeg"),)
    payload = make_generator(media=media).mms()
    assert payload["MediaUrl0"] == (
        f"http://127.0.0.1:9999/2010-04-01/Accounts/{ACCOUNT}/Messages/{payload['MessageSid']}/Media/ME{'1' * 32}"
    )


def test_mms_ratio_is_respected():
    traffic = make_generator(mms_ratio=0.3)
    kinds = [traffic.message()[0] for _ in range(2000)]
    assert 0.25 < kinds.count("mms") / len(kinds) < 0.35
    assert {kind for kind, _ in (make_generator(mms_ratio=0).message() for _ in range(100))} == {"sms"}


def test_bodies_are_varied_languages_emoji_hashtags_and_long():
    assert any(not body.isascii() for body in BODIES)
    assert any("#" in body for body in BODIES)
    assert any(len(body) > 300 for body in BODIES)
    assert any(any(ord(ch) > 0xFFFF for ch in body) for body in BODIES)  # emoji


@pytest.mark.parametrize(
    ("body", "segments"),
    [("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("é" * 70, 1), ("☕" * 70, 1), ("☕" * 71, 2)],
)
def test_num_segments_follows_gsm7_and_ucs2_limits(body, segments):
    assert num_segments(body) == segments


def test_sender_numbers_are_distinct_valid_e164():
    numbers = {sender_number(i) for i in range(1000)}
    assert len(numbers) == 1000
    for number in list(numbers)[:50]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number))
    with pytest.raises(ValueError):
        sender_number(-1)


def test_senders_are_drawn_from_the_configured_population():
    traffic = make_generator(senders=5)
    assert {traffic.sender() for _ in range(200)} == {sender_number(i) for i in range(5)}


def test_retry_repeats_fields_and_signature():
    traffic = make_generator()
    first = traffic.sign("sms", traffic.sms())
    retry = traffic.retry_of(first)
    assert retry.kind == "duplicate"
    assert retry.params == first.params
    assert retry.headers["X-Twilio-Signature"] == first.headers["X-Twilio-Signature"]


def test_keyword_payloads_carry_the_keyword():
    traffic = make_generator()
    for word in ("STOP", "START", "HELP"):
        assert traffic.keyword(word, sender="+14157000001")["Body"] == word


def test_generator_from_config_reads_the_locust_config():
    traffic = generator_from_config(
        {
            "run_id": new_run_id(),
            "sign_url": URL,
            "auth_token": TOKEN,
            "account_sid": ACCOUNT,
            "to_number": "+15005550006",
            "senders": 3,
            "mms_ratio": 1.0,
            "media": [{"base_url": "http://127.0.0.1:1", "media_sid": "ME" + "2" * 32, "content_type": "audio/amr"}],
        }
    )
    payload = traffic.message()[1]
    assert payload["MediaUrl0"].startswith("http://127.0.0.1:1/")
