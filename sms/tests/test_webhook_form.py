"""The webhook's form parser reads every body as ``urllib.parse.parse_qsl`` does (the reference),
and the Twilio SDK's validator reads the parsed form through ``getall``."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from sms.webhook.payload import WebhookPayloadError, form_parse


def _reference(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, encoding="utf-8", errors="replace")


def _pairs(body: bytes) -> list[tuple[str, str]]:
    form = form_parse(body, max_fields=None)
    return sorted((name, value) for name in form for value in form.getlist(name))


# Raw bodies: separators, escapes (valid, truncated, invalid UTF-8 once decoded), plus signs.
raw_bodies = st.lists(
    st.sampled_from(["&", "=", "+", "%", "%2", "%2B", "%E2%82", "%E2%82%AC", "%ZZ", "a", "B", "\u00e9", "\U0001f600"]),
    max_size=30,
).map(lambda parts: "".join(parts).encode())
forms = st.lists(st.tuples(st.text(max_size=12), st.text(max_size=40)), max_size=25)


@given(raw_bodies)
def test_any_body_parses_as_parse_qsl_reads_it(body: bytes) -> None:
    assert _pairs(body) == sorted(_reference(body))


@given(forms)
def test_urlencoded_forms_round_trip(pairs: list[tuple[str, str]]) -> None:
    for quoting in (quote, None):
        body = (urlencode(pairs, quote_via=quoting) if quoting else urlencode(pairs)).encode()
        assert _pairs(body) == sorted(pairs)


def test_invalid_utf8_bytes_are_replaced_like_parse_qsl() -> None:
    body = b"Body=caf\xe9&From=%2B1415%FF"
    assert _pairs(body) == sorted(_reference(body)) == [("Body", "caf\ufffd"), ("From", "+1415\ufffd")]


def test_more_fields_than_allowed_is_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        form_parse(b"&".join(b"f%d=1" % i for i in range(11)), max_fields=10)
    assert raised.value.code == "too_many_fields"
    assert len(form_parse(b"&".join(b"f%d=1" % i for i in range(10)), max_fields=10)) == 10


@given(forms)
def test_the_sdk_signs_the_parsed_form_as_it_signs_the_original(pairs: list[tuple[str, str]]) -> None:
    validator = RequestValidator("token")
    url = "https://example.com/api/sms/webhook"
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    form = form_parse(urlencode(pairs).encode(), max_fields=None)
    expected = (
        validator.compute_signature(url, {n: v[0] for n, v in multi.items()})
        if all(len(v) == 1 for v in multi.values())
        else None
    )
    computed = validator.compute_signature(url, form)
    assert validator.get_values(form, "missing") == []
    if expected is not None:
        assert computed == expected
