"""POST /api/sms/webhook with realistic, signed Twilio payloads (the validator is never stubbed)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext

from devkit.payloads import load_payload, with_new_sid
from performance import metrics
from sms.models import InboundMessage, MediaAttachment, OptOut
from sms.relay import outbox_dispatch
from sms.senders import number_is_opted_out, sender_get
from sms.tests.factories import phone_number_create
from sms.tests.webhook_client import PATH, SENDER, TEST_URL, post_webhook, reply_text, sign, sms

pytestmark = pytest.mark.django_db


def counter(name: str, **labels: str) -> float:
    return metrics.sample_total(name, labels)


# --- accepted --------------------------------------------------------------------------------


def test_verified_sender_sms_is_stored_and_acknowledged(verified, settings, django_capture_on_commit_callbacks):
    params = sms()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(Client(), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response["X-SMS-Outcome"] == "accepted"
    # The documented default (docs/DEPLOYMENT.md, "Costs"): no TwiML ack; the confirmation is the one text.
    assert settings.SMS_ACK_REPLY == ""
    assert reply_text(response) is None
    message = InboundMessage.objects.get(message_sid=params["MessageSid"])
    assert message.user_id == verified.user_id
    assert message.body == params["Body"]
    assert (message.from_number, message.to_number, message.outcome) == (SENDER, "+15005550006", "accepted")
    assert callbacks == []  # nothing is published on the request: the row is the outbox
    assert (message.status, message.queued_at) == ("received", None)
    assert outbox_dispatch() == (1, 0)  # the relay hands it over (eager tasks here run it)
    message.refresh_from_db()
    assert message.status == "processed"


def test_emoji_and_multi_segment_text_is_stored_intact(verified):
    """Twilio posts UCS-2 texts (emoji, flags, variation selectors) as UTF-8 form fields."""
    params = with_new_sid(load_payload("inbound_sms__emoji"))
    response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "accepted"
    body = InboundMessage.objects.get(message_sid=params["MessageSid"]).body
    assert body == params["Body"] and "🇵🇹" in body and "☕️" in body


def test_mms_media_rows_are_stored_with_the_message(verified):
    params = with_new_sid(load_payload("inbound_mms__voice_image_vcard"))
    response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "accepted"
    message = InboundMessage.objects.get(message_sid=params["MessageSid"])
    assert message.num_media == 3
    media = list(MediaAttachment.objects.filter(message=message).values_list("index", "url", "declared_content_type"))
    assert media == [
        (0, params["MediaUrl0"], "audio/amr"),
        (1, params["MediaUrl1"], "image/jpeg"),
        (2, params["MediaUrl2"], "text/vcard"),
    ]


def test_empty_body_is_valid(verified):
    params = with_new_sid(load_payload("inbound_sms__empty_body"))
    response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "accepted"
    assert InboundMessage.objects.get(message_sid=params["MessageSid"]).body == ""


def test_ack_text_is_configurable_and_empty_means_empty_response(verified, settings):
    response = post_webhook(Client(), sms())
    assert response["X-SMS-Outcome"] == "accepted"
    assert response.content.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    settings.SMS_ACK_REPLY = "Got it!"
    response = post_webhook(Client(), sms())
    assert response["X-SMS-Outcome"] == "accepted"
    assert reply_text(response) == "Got it!"


def test_get_is_not_allowed():
    assert Client().get("/api/sms/webhook").status_code == 405


# --- signature -------------------------------------------------------------------------------


def _assert_refused(response: Any, params: dict[str, str]) -> None:
    assert response.status_code == 403
    assert not InboundMessage.objects.filter(message_sid=params["MessageSid"]).exists()


@pytest.mark.parametrize("placeholder", ["TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID"])
def test_placeholder_credentials_sign_nothing_outside_debug(verified, settings, placeholder):
    # Anyone can compute a signature with the public placeholder token.
    settings.DEBUG = False
    setattr(settings, placeholder, getattr(settings, f"TWILIO_PLACEHOLDER_{placeholder[7:]}"))
    params = sms(AccountSid=settings.TWILIO_ACCOUNT_SID)
    response = post_webhook(Client(), params)
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()
    settings.DEBUG = True  # the embedded default: accepted
    assert post_webhook(Client(), params).status_code == 200


def test_missing_signature_is_403_nothing_stored_logged_masked_and_counted(verified, caplog):
    params = sms()
    before = counter("smsgw_webhook_signature_failures_total", reason="missing_signature")
    with caplog.at_level(logging.WARNING, logger="sms.security"):
        response = post_webhook(Client(), params, signature="")
    _assert_refused(response, params)
    assert counter("smsgw_webhook_signature_failures_total", reason="missing_signature") == before + 1
    lines = [r.getMessage() for r in caplog.records if r.name == "sms.security"]
    assert len(lines) == 1 and "***0100" in lines[0] and SENDER not in lines[0]


def test_signature_with_wrong_token_is_403(verified):
    params = sms()
    before = counter("smsgw_webhook_signature_failures_total", reason="invalid_signature")
    response = post_webhook(Client(), params, signature=sign(TEST_URL, params, token="not-our-token"))
    _assert_refused(response, params)
    assert counter("smsgw_webhook_signature_failures_total", reason="invalid_signature") == before + 1


def test_tampered_body_is_403(verified):
    params = sms()
    signature = sign(TEST_URL, params)
    response = post_webhook(Client(), {**params, "Body": "changed in transit"}, signature=signature)
    _assert_refused(response, params)


def test_foreign_account_is_403_even_when_signed(verified):
    params = sms(AccountSid="AC" + "b" * 32)
    before = counter("smsgw_webhook_signature_failures_total", reason="foreign_account")
    response = post_webhook(Client(), params)
    _assert_refused(response, params)
    assert counter("smsgw_webhook_signature_failures_total", reason="foreign_account") == before + 1


PUBLIC_URL = "https://sms.example.com/api/sms/webhook"


@pytest.mark.parametrize(
    ("public_url", "path", "signed_url"),
    [
        pytest.param(PUBLIC_URL, PATH, PUBLIC_URL, id="the_public_url_setting"),
        pytest.param(PUBLIC_URL, PATH + "?region=us&tenant=a", PUBLIC_URL + "?region=us&tenant=a", id="query_string"),
        pytest.param("", PATH + "?x=1", TEST_URL + "?x=1", id="request_url_with_query_string_without_public_url"),
        pytest.param(PUBLIC_URL, PATH, "https://sms.example.com:443/api/sms/webhook", id="explicit_443_port"),
    ],
)
def test_a_signature_over_the_url_twilio_called_validates(verified, settings, public_url, path, signed_url):
    settings.SMS_WEBHOOK_PUBLIC_URL = public_url
    response = post_webhook(Client(), sms(), path=path, signed_url=signed_url)
    assert response["X-SMS-Outcome"] == "accepted"


@pytest.mark.parametrize(
    ("path", "signed_url"),
    [
        pytest.param(PATH, TEST_URL, id="the_internal_url_when_a_public_url_is_set"),
        pytest.param(PATH + "?region=us&tenant=b", PUBLIC_URL + "?region=us&tenant=a", id="another_query_string"),
    ],
)
def test_a_signature_over_another_url_is_refused(verified, settings, path, signed_url):
    settings.SMS_WEBHOOK_PUBLIC_URL = PUBLIC_URL
    response = post_webhook(Client(), sms(), path=path, signed_url=signed_url)
    assert (response.status_code, response["X-SMS-Outcome"]) == (403, "forbidden")


def test_forwarded_proto_counts_only_when_proxies_are_trusted(verified, settings):
    https_url = "https://testserver/api/sms/webhook"
    params = sms()
    settings.SECURE_PROXY_SSL_HEADER = None
    response = post_webhook(Client(), params, signed_url=https_url, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 403

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    params = sms()
    response = post_webhook(Client(), params, signed_url=https_url, headers={"X-Forwarded-Proto": "https"})
    assert response["X-SMS-Outcome"] == "accepted"


SHA256_SETTINGS = "key=webhooks_sharedkey_0123456789abcdef,algorithm=HMAC_SHA256"


def test_hmac_sha256_variant_validates(verified):
    params = sms()
    response = post_webhook(
        Client(),
        params,
        signature=sign(TEST_URL, params, algorithm="HMAC_SHA256"),
        headers={"X-Twilio-Webhooks-Signature-Settings": SHA256_SETTINGS},
    )
    assert response["X-SMS-Outcome"] == "accepted"


def test_hmac_sha256_uses_the_shared_key_secret_when_configured(verified, settings):
    settings.TWILIO_WEBHOOK_SIGNING_SECRET = "shared-key-secret-0123456789"
    params = sms()
    headers = {"X-Twilio-Webhooks-Signature-Settings": SHA256_SETTINGS}
    signed_with_token = sign(TEST_URL, params, algorithm="HMAC_SHA256")
    assert post_webhook(Client(), params, signature=signed_with_token, headers=headers).status_code == 403
    signed_with_key = sign(TEST_URL, params, token="shared-key-secret-0123456789", algorithm="HMAC_SHA256")
    assert post_webhook(Client(), params, signature=signed_with_key, headers=headers)["X-SMS-Outcome"] == "accepted"


def test_auth_token_signatures_can_be_refused_once_a_signing_key_is_set(verified, settings):
    settings.TWILIO_WEBHOOK_SIGNING_SECRET = "shared-key-secret-0123456789"
    assert post_webhook(Client(), sms())["X-SMS-Outcome"] == "accepted"  # the default: both accepted
    settings.SMS_WEBHOOK_REQUIRE_SIGNING_KEY = True
    assert post_webhook(Client(), sms()).status_code == 403  # auth-token signed
    params = sms()
    signed_with_key = sign(TEST_URL, params, token="shared-key-secret-0123456789", algorithm="HMAC_SHA256")
    headers = {"X-Twilio-Webhooks-Signature-Settings": SHA256_SETTINGS}
    assert post_webhook(Client(), params, signature=signed_with_key, headers=headers)["X-SMS-Outcome"] == "accepted"


def test_sha1_signature_under_sha256_header_is_403(verified):
    params = sms()
    response = post_webhook(
        Client(),
        params,
        signature=sign(TEST_URL, params),
        headers={"X-Twilio-Webhooks-Signature-Settings": SHA256_SETTINGS},
    )
    _assert_refused(response, params)


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"MessageSid": ""}, "missing MessageSid"),
        ({"From": ""}, "missing From"),
        ({"To": ""}, "missing To"),
        ({"NumMedia": "two"}, "NumMedia is not a number"),
        ({"NumMedia": "-1"}, "NumMedia is not a number"),
        ({"NumMedia": "11"}, "NumMedia above 10"),
        ({"NumMedia": "1"}, "MediaUrl0/MediaContentType0 missing"),
        ({"MediaUrl0": "https://api.twilio.com/x", "MediaContentType0": "image/jpeg"}, "MediaUrl0 beyond NumMedia=0"),
        # Unicode digits pass str.isdigit() but not int(); they are not a count.
        ({"NumMedia": "\u00b2"}, "NumMedia is not a number"),
        ({"NumMedia": "\u0663"}, "NumMedia is not a number"),
        # PostgreSQL stores no NUL in text, and no longer value than the column takes.
        ({"MessageSid": "SM\x00abc"}, "MessageSid contains a NUL character"),
        ({"From": "+1415\x00"}, "From contains a NUL character"),
        ({"To": "+1415\x00"}, "To contains a NUL character"),
        ({"MessageSid": "SM" + "a" * 63}, "MessageSid longer than 64 characters"),
        ({"To": "+1" + "5" * 31}, "To longer than 32 characters"),
        ({"From": "+1" + "5" * 31}, "From longer than 32 characters"),
        (
            {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/" + "x" * 1010, "MediaContentType0": "image/jpeg"},
            "MediaUrl0 longer than 1024 characters",
        ),
        (
            {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/x", "MediaContentType0": "image/" + "x" * 123},
            "MediaContentType0 longer than 128 characters",
        ),
        (
            {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/x", "MediaContentType0": "image/jp\x00eg"},
            "MediaContentType0 contains a NUL character",
        ),
    ],
)
def test_malformed_payload_is_400_with_reason_and_nothing_stored(verified, change, reason):
    params = {**sms(), **change}
    before = InboundMessage.objects.count()
    response = post_webhook(Client(), params)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert InboundMessage.objects.count() == before


@pytest.mark.parametrize("field", ["NumSegments"])
@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "-3", "9" * 40])
def test_odd_segment_count_is_cleaned_to_one(verified, field, value):
    response = post_webhook(Client(), sms(**{field: value}))
    assert response.status_code == 200
    assert response["X-SMS-Outcome"] == "accepted"


def test_a_form_with_more_fields_than_django_allows_is_400(verified, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 30
    params = {**sms(), **{f"X{i}": "y" for i in range(40)}}
    response = post_webhook(Client(), params)
    assert response.status_code == 400
    assert "too many form fields" in response.content.decode()


def test_repeated_and_blank_fields_are_read_as_twilio_sent_them(verified):
    params = sms(Body="")
    response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "accepted"
    assert InboundMessage.objects.get(message_sid=params["MessageSid"]).body == ""


def test_nul_in_the_body_is_dropped_and_the_rest_stored(verified):
    params = sms(Body="lunch\x00 with Sam")
    response = post_webhook(Client(), params)
    assert response.status_code == 200
    assert InboundMessage.objects.get(message_sid=params["MessageSid"]).body == "lunch with Sam"


def test_data_the_database_refuses_is_400_not_an_outage(verified, monkeypatch, caplog):
    from django.db import DataError

    from sms.services import intake

    def refuse(**kwargs: Any) -> None:
        raise DataError("value too long for type character varying(32)")

    monkeypatch.setattr(intake, "inbound_message_store", refuse)
    response = post_webhook(Client(), sms())
    assert response.status_code == 400
    assert "cannot be stored" in response.content.decode()
    assert SENDER not in caplog.text and "refused by the database" in caplog.text


def test_missing_message_sid_param_is_400():
    params = sms()
    del params["MessageSid"]
    response = post_webhook(Client(), params)
    assert response.status_code == 400
    assert "missing MessageSid" in response.content.decode()


def test_media_count_above_num_media_is_400(verified):
    params = with_new_sid(load_payload("inbound_mms__voice_image_vcard", NumMedia="2"))
    response = post_webhook(Client(), params)
    assert response.status_code == 400
    assert "beyond NumMedia=2" in response.content.decode()

    assert not InboundMessage.objects.exists()


def test_oversized_body_is_refused_before_parsing(verified, settings):
    settings.SMS_WEBHOOK_MAX_BODY_BYTES = 4096
    params = sms(Body="x" * 5000)
    before = counter("smsgw_webhook_rejected_total", reason="too_large")
    response = post_webhook(Client(), params)
    assert response.status_code == 413
    assert not InboundMessage.objects.exists()
    assert counter("smsgw_webhook_rejected_total", reason="too_large") == before + 1


# --- dedup -----------------------------------------------------------------------------------


def test_same_message_sid_twice_is_stored_and_enqueued_once(verified):
    params = sms()
    first = post_webhook(Client(), params)
    second = post_webhook(Client(), params)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first["X-SMS-Outcome"], second["X-SMS-Outcome"]) == ("accepted", "duplicate")
    assert InboundMessage.objects.filter(message_sid=params["MessageSid"]).count() == 1
    assert outbox_dispatch() == (1, 0)
    assert outbox_dispatch() == (0, 0)


def test_duplicate_does_not_count_against_the_rate_limit(verified, settings):
    settings.SMS_RATE_LIMIT_PER_HOUR = 2
    params = sms()
    for _ in range(3):
        post_webhook(Client(), params)
    assert post_webhook(Client(), sms())["X-SMS-Outcome"] == "accepted"


# --- keywords --------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", "stopall", " Unsubscribe ", "cancel", "END", "quit", "Revoke", "OPTOUT"])
def test_stop_words_opt_out_a_linked_number(verified, word):
    assert number_is_opted_out(number=SENDER) is False  # cached "not opted out"
    params = with_new_sid(load_payload("inbound_sms__keyword_stop", Body=word))
    response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "opted_out"
    assert response.content.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    verified.refresh_from_db()
    assert verified.opted_out_at is not None
    assert OptOut.objects.filter(number=SENDER).exists()
    assert number_is_opted_out(number=SENDER) is True  # cache was invalidated
    assert list(InboundMessage.objects.values_list("status", "outcome")) == [("processed", "keyword_opted_out")]


def test_stop_from_unlinked_number_is_recorded():
    number = "+14155559876"
    assert number_is_opted_out(number=number) is False
    params = with_new_sid(load_payload("inbound_sms__keyword_stop", From=number))
    assert post_webhook(Client(), params)["X-SMS-Outcome"] == "opted_out"
    assert number_is_opted_out(number=number) is True
    assert sender_get(number=number) is None


def test_opted_out_sender_notes_are_stored_without_any_reply(verified):
    post_webhook(Client(), with_new_sid(load_payload("inbound_sms__keyword_stop")))
    params = sms()
    response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "accepted"
    assert response.content.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert InboundMessage.objects.filter(message_sid=params["MessageSid"]).exists()
    help_response = post_webhook(Client(), with_new_sid(load_payload("inbound_sms__keyword_help")))
    assert help_response["X-SMS-Outcome"] == "help"
    assert "<Message>" not in help_response.content.decode()


def test_start_clears_the_opt_out_and_replies(verified, settings):
    settings.SMS_TWILIO_HANDLES_KEYWORD_REPLIES = False
    settings.SMS_ACK_REPLY = "Got it!"
    post_webhook(Client(), with_new_sid(load_payload("inbound_sms__keyword_stop")))
    assert number_is_opted_out(number=SENDER) is True
    response = post_webhook(Client(), with_new_sid(load_payload("inbound_sms__keyword_start", Body=" yes")))
    assert response["X-SMS-Outcome"] == "opted_in"
    assert reply_text(response) == settings.SMS_OPT_IN_REPLY
    verified.refresh_from_db()
    assert verified.opted_out_at is None
    assert not OptOut.objects.exists()
    assert number_is_opted_out(number=SENDER) is False
    assert reply_text(post_webhook(Client(), sms())) == settings.SMS_ACK_REPLY


@pytest.mark.parametrize("word", ["help", "INFO", " Help "])
def test_help_words_get_the_help_text(word, settings):
    settings.SMS_TWILIO_HANDLES_KEYWORD_REPLIES = False
    params = with_new_sid(load_payload("inbound_sms__keyword_help", Body=word))
    response = post_webhook(Client(), params)
    assert response["X-SMS-Outcome"] == "help"
    assert reply_text(response) == settings.SMS_HELP_REPLY
    assert list(InboundMessage.objects.values_list("status", "outcome")) == [("processed", "keyword_help")]


def test_a_replayed_start_after_a_stop_changes_nothing(verified):
    # An attacker who captured a signed START (Twilio retries look the same) replays it later.
    start = sms(Body="START")
    assert post_webhook(Client(), start)["X-SMS-Outcome"] == "opted_in"
    assert post_webhook(Client(), sms(Body="STOP"))["X-SMS-Outcome"] == "opted_out"
    replayed = post_webhook(Client(), start)
    assert replayed["X-SMS-Outcome"] == "duplicate"
    assert number_is_opted_out(number=SENDER) is True


def test_help_and_start_replies_go_once_per_interval(verified, settings):
    settings.SMS_TWILIO_HANDLES_KEYWORD_REPLIES = False
    helps = [post_webhook(Client(), with_new_sid(load_payload("inbound_sms__keyword_help"))) for _ in range(3)]
    assert [reply_text(r) for r in helps] == [settings.SMS_HELP_REPLY, None, None]
    starts = [post_webhook(Client(), sms(Body="START")) for _ in range(2)]
    assert [reply_text(r) for r in starts] == [settings.SMS_OPT_IN_REPLY, None]


def test_keyword_inside_a_sentence_is_a_note(verified):
    response = post_webhook(Client(), sms(Body="Told Sam to stop by on Friday"))
    assert response["X-SMS-Outcome"] == "accepted"
    assert not OptOut.objects.exists()


# --- sender lookup ---------------------------------------------------------------------------


def test_unknown_sender_gets_link_instructions_once_per_day(settings):
    first = post_webhook(Client(), sms(From="+14155551111"))
    second = post_webhook(Client(), sms(From="+14155551111"))
    assert first["X-SMS-Outcome"] == second["X-SMS-Outcome"] == "unknown_sender"
    assert reply_text(first) == settings.SMS_UNKNOWN_SENDER_REPLY
    assert second.content.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert 86000 < cache.ttl("nc:instructions_sent:+14155551111") <= 86400  # type: ignore[attr-defined]
    assert not InboundMessage.objects.exists()


def test_unverified_sender_gets_verify_instructions_once_per_day(settings):
    phone_number_create(number="+14155552222", verified=False)
    first = post_webhook(Client(), sms(From="+14155552222"))
    second = post_webhook(Client(), sms(From="+14155552222"))
    assert first["X-SMS-Outcome"] == second["X-SMS-Outcome"] == "unverified"
    assert reply_text(first) == settings.SMS_UNVERIFIED_REPLY
    assert "<Message>" not in second.content.decode()
    assert not InboundMessage.objects.exists()


def test_unknown_sender_is_cached_negatively(settings):
    post_webhook(Client(), sms(From="+14155553333"))
    with CaptureQueriesContext(connection) as queries:
        post_webhook(Client(), sms(From="+14155553333"))
    assert len(queries) == 0


# --- rate limit ------------------------------------------------------------------------------


def test_over_the_limit_is_not_stored_and_told_once_with_limit_and_wait(verified, settings):
    settings.SMS_RATE_LIMIT_PER_HOUR = 3
    outcomes = [post_webhook(Client(), sms())["X-SMS-Outcome"] for _ in range(3)]
    assert outcomes == ["accepted"] * 3
    before = counter("smsgw_rate_limit_hits_total")
    over = post_webhook(Client(), sms())
    again = post_webhook(Client(), sms())
    assert over["X-SMS-Outcome"] == again["X-SMS-Outcome"] == "rate_limited"
    text = over.content.decode()
    assert "limit of 3 messages per hour" in text
    assert "again in 60 minutes" in text  # the oldest of the 3 frees its slot an hour after it arrived
    assert "<Message>" not in again.content.decode()
    assert InboundMessage.objects.count() == 3
    assert counter("smsgw_rate_limit_hits_total") == before + 2


def test_redis_down_accepts_and_stores_with_metric_and_warning(verified, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    before = counter("smsgw_rate_limit_unavailable_total")
    params = sms()
    with caplog.at_level(logging.WARNING):
        response = post_webhook(Client(), params)
    assert response.status_code == 200
    assert response["X-SMS-Outcome"] == "accepted"
    assert InboundMessage.objects.filter(message_sid=params["MessageSid"]).exists()
    assert counter("smsgw_rate_limit_unavailable_total") == before + 1
    assert any("rate limit unavailable" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_admin_deleting_an_opt_out_opts_the_number_back_in(admin_client, verified):
    post_webhook(Client(), with_new_sid(load_payload("inbound_sms__keyword_stop")))
    opt_out = OptOut.objects.get(number=SENDER)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = admin_client.post(f"/admin/sms/optout/{opt_out.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    verified.refresh_from_db()
    assert verified.opted_out_at is None
    assert number_is_opted_out(number=SENDER) is False


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at commit, so really commit
def test_deleted_user_with_a_stale_cache_entry_is_an_unknown_sender_not_an_error(verified, settings):
    assert sender_get(number=SENDER) is not None  # cached as linked and verified
    verified.user.delete()  # without invalidating the cache
    params = sms()
    response = post_webhook(Client(), params)
    assert response.status_code == 200
    assert response["X-SMS-Outcome"] == "unknown_sender"
    assert not InboundMessage.objects.filter(message_sid=params["MessageSid"]).exists()
