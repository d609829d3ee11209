"""The admin Performance page: access, content, and confirmed CSRF-protected actions."""

from __future__ import annotations

import pytest
from django.test import Client

from performance import metric_totals, metrics
from performance.caches import named_cache
from sms.senders import phone_lookup_cache, verification_status_cache
from sms.tests.factories import inbound_message_create, phone_number_create

pytestmark = pytest.mark.django_db

PAGE = "/admin/performance/"


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_index_links_the_performance_page(staff_user) -> None:
    html = _login(staff_user).get("/admin/").content.decode()
    assert f'href="{PAGE}"' in html


def test_page_needs_staff(client: Client, plain_user) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = _login(plain_user).get(PAGE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_page_shows_caches_pools_latency_queue_and_recent_failures(staff_user) -> None:
    named_cache("dash_cache", ttl=42).set("k", 1)
    failed = inbound_message_create(status="failed", error_code="media_too_large")
    inbound_message_create(status="processed")
    html = _login(staff_user).get(PAGE).content.decode()
    for section in ("perf-traffic", "perf-caches", "perf-pools", "perf-database", "perf-outcomes"):
        assert f'id="{section}"' in html
    assert "dash_cache" in html and "phone_lookup" in html
    assert "queue-depth-sms" in html
    assert f'href="/admin/sms/inboundmessage/{failed.pk}/change/"' in html
    assert "media_too_large" in html
    # A staff user who is not superuser sees only the actions allowed to staff.
    assert 'id="action-invalidate_phone"' in html
    assert 'id="action-reset_metrics"' not in html


def test_page_shows_gemini_calls_tokens_and_estimated_cost(superuser) -> None:
    client = _login(superuser)
    client.post("/admin/performance/action/reset_metrics/", {"confirmed": "yes"})
    metrics.GEMINI_CALLS.labels("ok").inc(2)
    metrics.GEMINI_ERRORS.labels("invalid_json").inc()
    metrics.GEMINI_TOKENS.labels("input").inc(2400)
    metrics.GEMINI_TOKENS.labels("output").inc(160)
    metrics.GEMINI_COST.inc(0.00112)

    html = client.get(PAGE).content.decode()

    assert 'id="perf-gemini"' in html
    assert '<td class="num" id="gemini-tokens">2400 / 160</td>' in html
    assert "$0.0011 ($0.000560 per call)" in html
    assert "error invalid_json" in html


def test_reset_asks_for_confirmation_then_resets(superuser) -> None:
    client = _login(superuser)
    assert 'id="action-reset_metrics"' in client.get(PAGE).content.decode()
    confirm = client.post(PAGE + "action/reset_metrics/")
    assert confirm.status_code == 200
    assert b'name="confirmed"' in confirm.content
    assert metric_totals.baseline_get().reset_at is None
    done = client.post(PAGE + "action/reset_metrics/", {"confirmed": "yes"}, follow=True)
    assert done.status_code == 200
    assert metric_totals.baseline_get().reset_at is not None
    assert b"Metrics reset" in done.content


def test_actions_need_csrf(superuser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert client.post(PAGE + "action/reset_metrics/", {"confirmed": "yes"}).status_code == 403
    assert metric_totals.baseline_get().reset_at is None


def test_superuser_actions_refused_to_staff(staff_user) -> None:
    client = _login(staff_user)
    assert client.post(PAGE + "action/reset_metrics/", {"confirmed": "yes"}).status_code == 403
    assert client.post(PAGE + "action/clear_cache/", {"value": "phone_lookup", "confirmed": "yes"}).status_code == 403
    assert client.get(PAGE + "action/reset_metrics/").status_code == 405


def test_clear_named_cache_drops_only_its_entries(superuser) -> None:
    phone_lookup_cache().set("+14155550100", None)
    phone_lookup_cache().set("+14155550101", None)
    verification_status_cache().set("1", True)
    response = _login(superuser).post(
        PAGE + "action/clear_cache/", {"value": "phone_lookup", "confirmed": "yes"}, follow=True
    )
    assert b"Cleared 2 entries of the phone_lookup cache" in response.content
    assert phone_lookup_cache().live_entries() == 0
    assert verification_status_cache().live_entries() == 1


def test_clear_unknown_cache_is_refused(superuser) -> None:
    response = _login(superuser).post(PAGE + "action/clear_cache/", {"value": "nope", "confirmed": "yes"}, follow=True)
    assert b"Choose a cache from the list" in response.content


def test_invalidate_phone_number_forgets_its_cached_entries(staff_user) -> None:
    phone = phone_number_create(number="+14155550123")
    phone_lookup_cache().set(phone.number, (phone.user_id, True, False))
    phone_lookup_cache().set("+14155550999", None)
    verification_status_cache().set(str(phone.user_id), True)
    response = _login(staff_user).post(
        PAGE + "action/invalidate_phone/", {"value": "(415) 555-0123", "confirmed": "yes"}, follow=True
    )
    assert b"Forgot the cached entries of" in response.content
    assert b"0123" in response.content and b"+14155550123" not in response.content
    assert not phone_lookup_cache().backend.get(phone_lookup_cache().make_key(phone.number))
    assert verification_status_cache().live_entries() == 0
    assert phone_lookup_cache().live_entries() == 1


def test_invalidate_rejects_a_non_number(staff_user) -> None:
    response = _login(staff_user).post(
        PAGE + "action/invalidate_phone/", {"value": "hello", "confirmed": "yes"}, follow=True
    )
    assert b"is not a phone number" in response.content
