"""Phone linking and verification through the API, with the real Twilio SDK against the fake."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from devkit.fakes.twilio import FakeTwilio
from performance import metrics
from sms.models import PhoneNumber, SendStatus, VerificationCodeSend
from sms.senders import sender_get
from sms.services.linking import verification_code_generate
from sms.services.opt_out import phone_number_opt_out_set
from sms.tests.factories import phone_number_create, user_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_twilio")]

URL = "/api/user/phone-number"
VERIFY_URL = "/api/user/phone-number/verify"
NUMBER = "+14155550123"


@pytest.fixture
def call(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Call the API as a request would run: on-commit work (cache invalidation, the send task) included."""

    def _call(client: APIClient, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(client, method)(url, data, format="json")

    return _call


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _last_code(fake: FakeTwilio, number: str = NUMBER) -> str:
    bodies = [m.body for m in fake.sent if m.to == number]
    assert bodies, f"no SMS sent to {number}"
    match = re.search(r"\b(\d{6})\b", bodies[-1])
    assert match, bodies[-1]
    return match.group(1)


def _age_sends(number: str, seconds: int) -> None:
    """Pretend the codes sent to ``number`` were sent ``seconds`` earlier than they were."""
    for send in VerificationCodeSend.objects.filter(number=number):
        send.created_at -= timedelta(seconds=seconds)
        send.save(update_fields=["created_at"])


# --- Linking ---------------------------------------------------------------------------


def test_link_normalises_to_e164_and_texts_a_six_digit_code(call, fake_twilio: FakeTwilio) -> None:
    response = call(_client(user_create()), "post", URL, {"phone_number": "(415) 555-0123"})
    assert response.status_code == 201, response.content
    assert response.json()["phone_number"] == NUMBER
    assert response.json()["verified"] is False
    assert len(fake_twilio.sent) == 1
    assert fake_twilio.sent[0].to == NUMBER
    assert re.search(r"verification code is \d{6}\.", fake_twilio.sent[0].body)


def test_number_with_country_code_keeps_its_country(call, settings) -> None:
    settings.SMS_VERIFICATION_ALLOWED_COUNTRIES = ["US", "GB"]
    response = call(_client(user_create()), "post", URL, {"phone_number": "+44 7400 123456"})
    assert response.status_code == 201
    assert response.json()["phone_number"] == "+447400123456"


def test_default_region_applies_to_numbers_without_country_code(call, settings) -> None:
    settings.SMS_DEFAULT_REGION = "GB"
    settings.SMS_VERIFICATION_ALLOWED_COUNTRIES = ["GB"]
    response = call(_client(user_create()), "post", URL, {"phone_number": "07400 123456"})
    assert response.status_code == 201
    assert response.json()["phone_number"] == "+447400123456"


@pytest.mark.parametrize("raw", ["12", "+1415555", "not a number", "+999 1234 5678", ""])
def test_invalid_number_is_400_with_a_code(call, raw: str, fake_twilio: FakeTwilio) -> None:
    response = call(_client(user_create()), "post", URL, {"phone_number": raw})
    assert response.status_code == 400
    body = response.json()
    assert body.get("code") == "invalid_phone_number" or "phone_number" in body
    assert fake_twilio.sent == []
    assert not PhoneNumber.objects.exists()


def test_our_own_twilio_number_cannot_be_linked(call, settings) -> None:
    response = call(_client(user_create()), "post", URL, {"phone_number": settings.TWILIO_PHONE_NUMBER})
    assert response.status_code == 400
    assert response.json()["code"] == "service_number"


def test_code_is_stored_hashed_never_in_plain_text(call, fake_twilio: FakeTwilio) -> None:
    call(_client(user_create()), "post", URL, {"phone_number": NUMBER})
    code = _last_code(fake_twilio)
    phone = PhoneNumber.objects.get()
    assert phone.verification_code_hash
    assert code not in phone.verification_code_hash
    assert len(phone.verification_code_hash) == 64  # HMAC-SHA256 hex


def test_codes_are_six_digits_and_spread_uniformly() -> None:
    codes = [verification_code_generate() for _ in range(2000)]
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert len(set(codes)) > 1990
    # Every leading digit appears (about 200 times each); a biased generator would skew this.
    counts = [sum(1 for c in codes if c[0] == str(d)) for d in range(10)]
    assert min(counts) > 120, counts


def test_number_verified_by_another_user_is_409(call) -> None:
    phone_number_create(number=NUMBER, verified=True)
    response = call(_client(user_create()), "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 409
    assert response.json()["code"] == "number_taken"


def test_number_claimed_by_another_user_blocks_while_their_code_is_valid(call) -> None:
    call(_client(user_create()), "post", URL, {"phone_number": NUMBER})
    response = call(_client(user_create()), "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 409
    assert response.json()["code"] == "number_claimed"


def test_expired_claim_by_another_user_stops_blocking(call, fake_twilio: FakeTwilio) -> None:
    first = user_create()
    call(_client(first), "post", URL, {"phone_number": NUMBER})
    PhoneNumber.objects.filter(user=first).update(code_expires_at=timezone.now() - timedelta(seconds=1))
    _age_sends(NUMBER, 61)
    second = user_create()
    response = call(_client(second), "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 201, response.content
    assert PhoneNumber.objects.get(number=NUMBER).user == second
    assert not PhoneNumber.objects.filter(user=first).exists()
    assert len(fake_twilio.sent) == 2


def test_linking_another_number_while_one_is_verified_is_409(call) -> None:
    user = user_create()
    phone_number_create(user=user, number="+14155550999", verified=True)
    response = call(_client(user), "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 409
    assert response.json()["code"] == "already_linked"
    assert PhoneNumber.objects.get(user=user).number == "+14155550999"


def test_linking_another_number_replaces_an_unverified_one(call) -> None:
    user = user_create()
    call(_client(user), "post", URL, {"phone_number": "+14155550999"})
    response = call(_client(user), "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 201
    assert list(PhoneNumber.objects.filter(user=user).values_list("number", flat=True)) == [NUMBER]


def test_relinking_own_verified_number_is_409(call) -> None:
    user = user_create()
    phone_number_create(user=user, number=NUMBER, verified=True)
    response = call(_client(user), "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 409
    assert response.json()["code"] == "already_verified"


def test_opted_out_number_is_never_texted(call, fake_twilio: FakeTwilio) -> None:
    user = user_create()
    phone_number_create(user=user, number=NUMBER, verified=False, opted_out_at=timezone.now())
    response = call(_client(user), "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 409
    assert response.json()["code"] == "number_opted_out"
    assert fake_twilio.sent == []


def test_unauthenticated_requests_are_refused(call) -> None:
    response = call(APIClient(), "post", URL, {"phone_number": NUMBER})
    assert response.status_code in (401, 403)
    assert not PhoneNumber.objects.exists()


def test_token_authentication_works_end_to_end(call, fake_twilio: FakeTwilio) -> None:
    user_create(username="alice")
    token = APIClient().post("/api/auth/token", {"username": "alice", "password": "pw-123456"}).json()["token"]
    assert AuthToken.objects.get(user__username="alice").digest != token  # only a hash is stored
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert call(client, "post", URL, {"phone_number": NUMBER}).status_code == 201
    assert call(client, "post", VERIFY_URL, {"code": _last_code(fake_twilio)}).status_code == 200


# --- Verifying ---------------------------------------------------------------------------


def test_right_code_verifies_the_number(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    response = call(client, "post", VERIFY_URL, {"code": _last_code(fake_twilio)})
    assert response.status_code == 200, response.content
    assert response.json()["verified"] is True
    assert response.json()["verified_at"]
    phone = PhoneNumber.objects.get()
    assert phone.is_verified and phone.verified_at
    assert phone.verification_code_hash == ""  # used up


def test_wrong_code_is_400_and_counts_an_attempt(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    wrong = f"{(int(_last_code(fake_twilio)) + 1) % 10**6:06d}"
    response = call(client, "post", VERIFY_URL, {"code": wrong})
    assert response.status_code == 400
    assert response.json() == {"code": "code_invalid", "detail": "The code is wrong.", "attempts_remaining": 4}
    assert PhoneNumber.objects.get().verification_attempts == 1


def test_brute_force_stops_after_five_wrong_codes(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    right = _last_code(fake_twilio)
    wrong = [f"{(int(right) + i) % 10**6:06d}" for i in range(1, 6)]
    codes = [call(client, "post", VERIFY_URL, {"code": c}).json()["code"] for c in wrong]
    assert codes == ["code_invalid"] * 4 + ["code_voided"]
    # The right code no longer works: the code is void.
    response = call(client, "post", VERIFY_URL, {"code": right})
    assert response.status_code == 400
    assert response.json()["code"] == "code_voided"
    assert PhoneNumber.objects.get().is_verified is False


def test_a_new_code_after_voiding_works(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    for _ in range(5):
        call(client, "post", VERIFY_URL, {"code": f"{(int(_last_code(fake_twilio)) + 1) % 10**6:06d}"})
    _age_sends(NUMBER, 61)
    assert call(client, "post", URL, {"phone_number": NUMBER}).status_code == 201
    assert call(client, "post", VERIFY_URL, {"code": _last_code(fake_twilio)}).status_code == 200


def test_expired_code_is_refused(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    PhoneNumber.objects.update(code_expires_at=timezone.now() - timedelta(seconds=1))
    response = call(client, "post", VERIFY_URL, {"code": _last_code(fake_twilio)})
    assert response.status_code == 400
    assert response.json()["code"] == "code_expired"


def test_code_is_valid_for_ten_minutes(call) -> None:
    client = _client(user_create())
    before = timezone.now()
    call(client, "post", URL, {"phone_number": NUMBER})
    expires = PhoneNumber.objects.get().code_expires_at
    assert expires is not None
    assert timedelta(minutes=10) <= expires - before < timedelta(minutes=10, seconds=5)


def test_previous_code_stops_working_after_a_resend(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    first = _last_code(fake_twilio)
    _age_sends(NUMBER, 61)
    call(client, "post", URL, {"phone_number": NUMBER})
    second = _last_code(fake_twilio)
    if first == second:  # one chance in a million
        pytest.skip("the two random codes happen to be equal")
    assert call(client, "post", VERIFY_URL, {"code": first}).json()["code"] == "code_invalid"
    assert call(client, "post", VERIFY_URL, {"code": second}).status_code == 200


def test_code_for_one_number_does_not_verify_another(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": "+14155550999"})
    code = _last_code(fake_twilio, "+14155550999")
    call(client, "post", URL, {"phone_number": NUMBER})
    other = _last_code(fake_twilio)
    if code == other:
        pytest.skip("the two random codes happen to be equal")
    assert call(client, "post", VERIFY_URL, {"code": code}).status_code == 400


def test_verify_without_a_number_is_404(call) -> None:
    response = call(_client(user_create()), "post", VERIFY_URL, {"code": "123456"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_linked"


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", ""])
def test_malformed_code_is_400_without_spending_an_attempt(call, code: str) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    assert call(client, "post", VERIFY_URL, {"code": code}).status_code == 400
    assert PhoneNumber.objects.get().verification_attempts == 0


# --- Resend cooldown and caps -------------------------------------------------------------


def test_resend_within_a_minute_is_429_with_retry_after(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    response = call(client, "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 429
    assert response.json()["code"] == "resend_cooldown"
    assert 55 <= int(response["Retry-After"]) <= 61
    assert len(fake_twilio.sent) == 1


def test_resend_after_the_cooldown_sends_a_new_code(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    _age_sends(NUMBER, 61)
    assert call(client, "post", URL, {"phone_number": NUMBER}).status_code == 201
    assert len(fake_twilio.sent) == 2


def test_at_most_five_codes_per_number_per_hour(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    statuses = []
    for _ in range(6):
        statuses.append(call(client, "post", URL, {"phone_number": NUMBER}).status_code)
        _age_sends(NUMBER, 61)
    assert statuses == [201] * 5 + [429]
    assert len(fake_twilio.sent) == 5
    response = call(client, "post", URL, {"phone_number": NUMBER})
    assert response.json()["code"] == "number_hourly_cap"
    # The oldest of the five was sent 6 x 61 s ago: it leaves the window in 3600 - 366 s.
    assert abs(int(response["Retry-After"]) - (3600 - 6 * 61)) <= 2


def test_hourly_cap_survives_unlink_and_relink(call) -> None:
    client = _client(user_create())
    for _ in range(5):
        assert call(client, "post", URL, {"phone_number": NUMBER}).status_code == 201
        _age_sends(NUMBER, 61)
    assert call(client, "delete", URL).status_code == 204
    response = call(client, "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 429
    assert response.json()["code"] == "number_hourly_cap"


def test_hourly_cap_counts_codes_to_the_number_from_every_user(call) -> None:
    for _ in range(5):
        user = user_create()
        assert call(_client(user), "post", URL, {"phone_number": NUMBER}).status_code == 201
        PhoneNumber.objects.filter(number=NUMBER).update(code_expires_at=timezone.now())
        _age_sends(NUMBER, 61)
    response = call(_client(user_create()), "post", URL, {"phone_number": NUMBER})
    assert response.status_code == 429
    assert response.json()["code"] == "number_hourly_cap"


def test_hourly_cap_window_slides(call) -> None:
    client = _client(user_create())
    for _ in range(5):
        call(client, "post", URL, {"phone_number": NUMBER})
        _age_sends(NUMBER, 61)
    _age_sends(NUMBER, 3600)
    assert call(client, "post", URL, {"phone_number": NUMBER}).status_code == 201


def test_at_most_ten_codes_per_user_per_day(call, fake_twilio: FakeTwilio, settings) -> None:
    settings.SMS_LINK_REQUESTS_PER_USER_PER_HOUR = 100  # the daily cap, not the request cap
    client = _client(user_create())
    statuses = [call(client, "post", URL, {"phone_number": f"+1415555{1000 + i:04d}"}).status_code for i in range(11)]
    assert statuses == [201] * 10 + [429]
    response = call(client, "post", URL, {"phone_number": "+14155552000"})
    assert response.json()["code"] == "user_daily_cap"
    assert 86000 < int(response["Retry-After"]) <= 86401
    assert len(fake_twilio.sent) == 10


def test_numbers_outside_the_allowed_countries_are_refused(call, fake_twilio: FakeTwilio) -> None:
    response = call(_client(user_create()), "post", URL, {"phone_number": "+44 20 7183 8750"})
    assert (response.status_code, response.json()["code"]) == (400, "country_not_allowed")
    assert fake_twilio.sent == [] and not PhoneNumber.objects.exists()


@pytest.mark.parametrize(
    "number",
    [
        "+1 800 555 0199",  # toll-free
        "+1 900 555 0199",  # premium rate
        "+44 20 7183 8750",  # landline
        "+44 843 123 4567",  # premium rate / shared cost
        "+44 70 1123 4567",  # personal number (forwarded, charged to the caller)
    ],
)
def test_non_mobile_number_types_are_refused(call, fake_twilio: FakeTwilio, settings, number: str) -> None:
    settings.SMS_VERIFICATION_ALLOWED_COUNTRIES = ["US", "CA", "GB"]
    response = call(_client(user_create()), "post", URL, {"phone_number": number})
    assert (response.status_code, response.json()["code"]) == (400, "number_type_not_allowed")
    assert response.json()["detail"] == "We can only text mobile numbers."
    assert fake_twilio.sent == [] and not PhoneNumber.objects.exists()


def test_mobile_numbers_abroad_are_linked_when_their_country_is_allowed(
    call, fake_twilio: FakeTwilio, settings
) -> None:
    settings.SMS_VERIFICATION_ALLOWED_COUNTRIES = ["US", "CA", "GB"]
    response = call(_client(user_create()), "post", URL, {"phone_number": "+44 7400 123456"})
    assert response.status_code == 201
    assert [m.to for m in fake_twilio.sent] == ["+447400123456"]


def test_every_link_request_counts_so_numbers_cannot_be_probed(call, settings) -> None:
    # "Taken", "claimed" and "opted out" answers tell something about a number: they count too.
    other = _client(user_create())
    call(other, "post", URL, {"phone_number": NUMBER})
    prober = _client(user_create())
    answers = [
        call(prober, "post", URL, {"phone_number": NUMBER}).status_code
        for _ in range(settings.SMS_LINK_REQUESTS_PER_USER_PER_HOUR + 1)
    ]
    assert answers == [409] * settings.SMS_LINK_REQUESTS_PER_USER_PER_HOUR + [429]
    response = call(prober, "post", URL, {"phone_number": "+14155552999"})
    assert response.json()["code"] == "link_hourly_cap" and int(response["Retry-After"]) > 0


def test_the_service_daily_send_budget_stops_all_codes(call, fake_twilio: FakeTwilio, settings) -> None:
    settings.SMS_VERIFICATION_GLOBAL_DAILY_LIMIT = 2
    codes = [
        call(_client(user_create()), "post", URL, {"phone_number": f"+1415555{3000 + i:04d}"}).json().get("code")
        for i in range(3)
    ]
    assert codes == [None, None, "service_daily_cap"]
    assert len(fake_twilio.sent) == 2
    assert metrics.sample_total("smsgw_verification_budget_exhausted_total", {}) >= 1


def test_wrong_codes_count_per_number_per_day_across_resends(call, fake_twilio: FakeTwilio, settings) -> None:
    settings.SMS_VERIFICATION_MAX_FAILURES_PER_NUMBER_PER_DAY = 4
    settings.SMS_VERIFICATION_RESEND_COOLDOWN = 0
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    for _ in range(3):
        assert call(client, "post", VERIFY_URL, {"code": "000000"}).status_code == 400
    call(client, "post", URL, {"phone_number": NUMBER})  # a resend: a fresh code, but not fresh guesses
    assert call(client, "post", VERIFY_URL, {"code": "000000"}).json()["code"] == "code_invalid"
    right = _last_code(fake_twilio)
    assert call(client, "post", VERIFY_URL, {"code": right}).json()["code"] == "code_voided"


def test_refused_requests_do_not_count_towards_the_caps(call) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    for _ in range(5):
        assert call(client, "post", URL, {"phone_number": NUMBER}).status_code == 429
    assert VerificationCodeSend.objects.count() == 1


# --- GET and DELETE ---------------------------------------------------------------------------


def test_get_shows_number_verified_and_last_send_status(call, fake_twilio: FakeTwilio) -> None:
    client = _client(user_create())
    call(client, "post", URL, {"phone_number": NUMBER})
    body = call(client, "get", URL).json()
    assert body["phone_number"] == NUMBER
    assert body["verified"] is False
    assert body["verified_at"] is None
    assert body["last_send_status"] == SendStatus.SENT
    assert body["last_send_error"] == ""
    call(client, "post", VERIFY_URL, {"code": _last_code(fake_twilio)})
    body = call(client, "get", URL).json()
    assert body["verified"] is True
    assert body["verified_at"] is not None


def test_get_without_a_number_is_404(call) -> None:
    response = call(_client(user_create()), "get", URL)
    assert response.status_code == 404
    assert response.json()["code"] == "not_linked"


def test_get_shows_only_the_callers_number(call) -> None:
    phone_number_create(number=NUMBER)
    assert call(_client(user_create()), "get", URL).status_code == 404


def test_delete_unlinks_and_is_204(call) -> None:
    user = user_create()
    phone_number_create(user=user, number=NUMBER)
    client = _client(user)
    assert call(client, "get", URL).status_code == 200  # caches the status
    assert call(client, "delete", URL).status_code == 204
    assert not PhoneNumber.objects.filter(user=user).exists()
    assert call(client, "get", URL).status_code == 404
    assert call(client, "delete", URL).status_code == 404


def test_browsable_api_renders_html(call) -> None:
    client = _client(user_create())
    response = client.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 404  # no number yet, still rendered by the browsable API
    assert b"<html" in response.content.lower()


# --- Cache invalidation, seen by the webhook's sender lookup ---------------------------------


def test_verification_is_seen_by_the_sender_lookup_at_once(call, fake_twilio: FakeTwilio) -> None:
    user = user_create()
    client = _client(user)
    assert sender_get(number=NUMBER) is None  # cached negative result
    call(client, "post", URL, {"phone_number": NUMBER})
    info = sender_get(number=NUMBER)
    assert info is not None and info.user_id == user.pk and not info.is_verified
    call(client, "post", VERIFY_URL, {"code": _last_code(fake_twilio)})
    info = sender_get(number=NUMBER)
    assert info is not None and info.is_verified


def test_unlink_is_seen_by_the_sender_lookup_at_once(call) -> None:
    user = user_create()
    phone_number_create(user=user, number=NUMBER, verified=True)
    assert sender_get(number=NUMBER) is not None  # cached
    call(_client(user), "delete", URL)
    assert sender_get(number=NUMBER) is None


def test_opt_out_change_is_seen_by_the_sender_lookup_at_once(django_capture_on_commit_callbacks) -> None:
    phone_number_create(number=NUMBER, verified=True)
    info = sender_get(number=NUMBER)
    assert info is not None and not info.is_opted_out
    with django_capture_on_commit_callbacks(execute=True):
        assert phone_number_opt_out_set(number=NUMBER, opted_out=True) is True
    info = sender_get(number=NUMBER)
    assert info is not None and info.is_opted_out
    with django_capture_on_commit_callbacks(execute=True):
        phone_number_opt_out_set(number=NUMBER, opted_out=False)
    info = sender_get(number=NUMBER)
    assert info is not None and not info.is_opted_out


def test_expired_claim_taken_over_invalidates_the_old_owner(call, fake_twilio: FakeTwilio) -> None:
    first, second = user_create(), user_create()
    call(_client(first), "post", URL, {"phone_number": NUMBER})
    assert call(_client(first), "get", URL).status_code == 200  # cached for the first user
    PhoneNumber.objects.filter(user=first).update(code_expires_at=timezone.now())
    _age_sends(NUMBER, 61)
    call(_client(second), "post", URL, {"phone_number": NUMBER})
    assert call(_client(first), "get", URL).status_code == 404
    info = sender_get(number=NUMBER)
    assert info is not None and info.user_id == second.pk


# --- Indexes used by the cap queries -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "definition"),
    [("sms_vsend_number_idx", "(number, created_at)"), ("sms_vsend_user_idx", "(user_id, created_at)")],
)
def test_send_log_indexes_exist(name: str, definition: str) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cur.fetchone()
    assert row is not None and definition in row[0], row


def test_cap_queries_use_the_send_log_indexes() -> None:
    user = user_create()
    VerificationCodeSend.objects.bulk_create(
        VerificationCodeSend(user=user, number=f"+1415555{i:04d}") for i in range(2000)
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE sms_verificationcodesend")
    since = timezone.now() - timedelta(hours=1)
    by_number = VerificationCodeSend.objects.filter(number=NUMBER, created_at__gt=since).order_by("created_at")
    assert "sms_vsend_number_idx" in by_number.explain()
    other = user_create()
    by_user = VerificationCodeSend.objects.filter(user=other, created_at__gt=since).order_by("-created_at")[:10]
    assert "sms_vsend_user_idx" in by_user.explain()


def test_get_status_is_served_from_the_cache(call) -> None:
    user = user_create()
    phone_number_create(user=user, number=NUMBER)
    client = _client(user)
    with CaptureQueriesContext(connection) as first:
        assert call(client, "get", URL).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert call(client, "get", URL).status_code == 200
    assert len([q for q in first.captured_queries if "sms_phonenumber" in q["sql"]]) == 1
    assert [q["sql"] for q in second.captured_queries] == []
