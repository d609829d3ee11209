"""The performance API: permissions on every endpoint, and what each one reports."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.db import connections
from django_redis import get_redis_connection
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from performance import metrics
from performance.caches import named_cache
from performance.metric_totals import RESET_AT_KEY, samples_key
from performance.pool_snapshots import KEY_PREFIX
from sms.tests.factories import inbound_message_create
from smsgateway.tokens import api_token_create
from tests.live import free_port

pytestmark = pytest.mark.django_db

BASE = "/api/sms/performance/"
STAFF_GETS = ["stats/", "cache/", "database/", "connections/"]


# --- Permissions --------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", STAFF_GETS)
def test_anonymous_get_is_401_with_token_challenge(api: APIClient, endpoint: str) -> None:
    response = api.get(BASE + endpoint)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("endpoint", STAFF_GETS)
def test_non_staff_get_is_403(api: APIClient, plain_user, endpoint: str) -> None:
    api.force_login(plain_user)
    assert api.get(BASE + endpoint).status_code == 403
    token = api_token_create(user=plain_user)
    assert APIClient().get(BASE + endpoint, HTTP_AUTHORIZATION=f"Token {token}").status_code == 403


@pytest.mark.parametrize("endpoint", STAFF_GETS)
def test_staff_get_is_200_by_token_and_session(staff_api: APIClient, staff_user, endpoint: str) -> None:
    assert staff_api.get(BASE + endpoint).status_code == 200
    session = APIClient()
    session.force_login(staff_user)
    assert session.get(BASE + endpoint).status_code == 200


@pytest.mark.parametrize("endpoint", STAFF_GETS)
def test_browsable_api_renders_for_staff(staff_user, endpoint: str) -> None:
    client = APIClient()
    client.force_login(staff_user)
    response = client.get(BASE + endpoint, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Django REST framework" in response.content


def test_reset_is_superuser_only(api: APIClient, plain_user, staff_api: APIClient, super_api: APIClient) -> None:
    assert api.post(BASE + "reset/").status_code == 401
    api.force_login(plain_user)
    assert api.post(BASE + "reset/").status_code == 403
    assert staff_api.post(BASE + "reset/").status_code == 403
    assert super_api.get(BASE + "reset/").status_code == 405
    response = super_api.post(BASE + "reset/")
    assert response.status_code == 200
    assert response.json()["reset_at"] > 0


def test_reset_by_session_needs_csrf(superuser) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert client.post(BASE + "reset/").status_code == 403


def test_health_is_public(api: APIClient, plain_user) -> None:
    assert api.get(BASE + "health/").status_code == 200
    api.force_login(plain_user)
    assert api.get(BASE + "health/").status_code == 200


# --- stats and reset ----------------------------------------------------------------------
def test_stats_counts_since_reset_and_prometheus_counters_stay_monotonic(super_api: APIClient) -> None:
    before_any = metrics.sample_total("smsgw_webhook_outcomes_total", {"outcome": "accepted"})
    for _ in range(3):
        metrics.WEBHOOK_OUTCOMES.labels("accepted").inc()
    assert super_api.post(BASE + "reset/").status_code == 200
    for _ in range(2):
        metrics.WEBHOOK_OUTCOMES.labels("accepted").inc()
    metrics.WEBHOOK_OUTCOMES.labels("duplicate").inc()

    stats = super_api.get(BASE + "stats/").json()
    assert stats["webhook"]["outcomes"]["accepted"] == 2
    assert stats["webhook"]["outcomes"]["duplicate"] == 1
    assert stats["webhook"]["count"] == 3
    assert stats["reset_at"] is not None
    assert stats["lifetime"]["webhooks"] >= 6
    # Prometheus still sees every increment.
    assert metrics.sample_total("smsgw_webhook_outcomes_total", {"outcome": "accepted"}) == before_any + 5
    prom = super_api.get("/metrics").content.decode()
    assert f'smsgw_webhook_outcomes_total{{outcome="accepted"}} {before_any + 5}' in prom


def test_reset_made_on_another_host_is_taken_at_the_next_read(staff_api: APIClient) -> None:
    metrics.WEBHOOK_OUTCOMES.labels("help").inc(2)
    assert staff_api.get(BASE + "stats/").json()["reset_at"] is None
    # Another host's superuser reset: only the shared reset time is new to this host.
    get_redis_connection().set(RESET_AT_KEY, json.dumps(time.time()))
    stats = staff_api.get(BASE + "stats/").json()
    assert stats["reset_at"] is not None
    assert stats["webhook"]["outcomes"].get("help", 0) == 0
    metrics.WEBHOOK_OUTCOMES.labels("help").inc()
    assert staff_api.get(BASE + "stats/").json()["webhook"]["outcomes"]["help"] == 1


def test_stats_percentiles_come_from_histogram_buckets(super_api: APIClient) -> None:
    super_api.post(BASE + "reset/")
    # 90 fast answers in (2 ms, 3 ms], 10 slow ones in (50 ms, 100 ms].
    for _ in range(90):
        metrics.WEBHOOK_LATENCY.labels("accepted").observe(0.0025)
    for _ in range(10):
        metrics.WEBHOOK_LATENCY.labels("accepted").observe(0.08)
    latency = super_api.get(BASE + "stats/").json()["webhook"]["latency_ms"]
    assert 2.0 < latency["p50"] <= 3.0
    assert 50.0 < latency["p95"] <= 100.0
    assert 50.0 < latency["p99"] <= 100.0


def test_stats_processing_by_kind_errors_and_outbound(super_api: APIClient) -> None:
    super_api.post(BASE + "reset/")
    metrics.PROCESSING_LATENCY.labels("audio").observe(4.0)
    metrics.PROCESSING_OUTCOMES.labels("audio", "processed").inc()
    metrics.PROCESSING_OUTCOMES.labels("sms", "failed").inc()
    metrics.PROCESSING_ERRORS.labels("media_too_large").inc()
    metrics.OUTBOUND_SMS.labels("failed").inc()
    stats = super_api.get(BASE + "stats/").json()
    assert stats["processing"]["by_kind"]["audio"]["count"] == 1
    assert 2000.0 < stats["processing"]["by_kind"]["audio"]["latency_ms"]["p50"] <= 5000.0
    assert stats["processing"]["outcomes"] == {"failed": 1, "processed": 1}
    assert stats["errors"]["processing"] == {"media_too_large": 1}
    assert stats["errors"]["outbound_sms_failed"] == 1
    assert stats["queue_depth"] == {"sms": 0}  # eager tasks in tests
    assert {"caches", "connections", "database", "throughput", "uptime_seconds"} <= set(stats)


def test_stats_gemini_calls_tokens_cost_and_errors_since_reset(super_api: APIClient) -> None:
    metrics.GEMINI_TOKENS.labels("input").inc(999)
    super_api.post(BASE + "reset/")
    metrics.GEMINI_CALLS.labels("ok").inc(3)
    metrics.GEMINI_CALLS.labels("unavailable").inc()
    metrics.GEMINI_ERRORS.labels("rate_limited").inc()
    metrics.GEMINI_LATENCY.observe(1.5)
    metrics.GEMINI_TOKENS.labels("input").inc(3000)
    metrics.GEMINI_TOKENS.labels("output").inc(400)
    metrics.GEMINI_COST.inc(0.0019)

    stats = super_api.get(BASE + "stats/").json()

    gemini = stats["gemini"]
    assert (gemini["calls"], gemini["outcomes"]) == (4, {"ok": 3, "unavailable": 1})
    assert (gemini["tokens_in"], gemini["tokens_out"]) == (3000, 400)
    assert gemini["cost_usd"] == pytest.approx(0.0019) and gemini["cost_per_call_usd"] == pytest.approx(0.000475)
    assert 1000.0 < gemini["latency_ms"]["p50"] <= 2000.0
    assert stats["errors"]["gemini"] == {"rate_limited": 1}
    assert stats["lifetime"]["gemini_cost_usd"] >= 0.0019


def test_stats_throughput_uses_stored_samples(super_api: APIClient) -> None:
    client = get_redis_connection()
    now_webhooks = metrics.sample_total("smsgw_webhook_outcomes_total")
    # A sample stored 30 s ago, 60 webhooks fewer than now: 2 per second.
    client.lpush(
        samples_key(),
        json.dumps({"ts": time.time() - 30, "webhooks": now_webhooks - 60, "processed": 0}),
    )
    throughput = super_api.get(BASE + "stats/").json()["throughput"]
    assert throughput["1m"]["webhooks_per_second"] == pytest.approx(2.0, rel=0.05)
    assert throughput["5m"]["seconds"] >= 29


# --- cache --------------------------------------------------------------------------------
def test_cache_endpoint_reports_hits_misses_rate_entries_and_ttl(staff_api: APIClient) -> None:
    nc = named_cache("api_test_cache", ttl=77)
    nc.set("a", 1)
    nc.set("b", 2)
    nc.get("a")
    nc.get("a")
    nc.get("a")
    nc.get("missing")
    rows = {row["name"]: row for row in staff_api.get(BASE + "cache/").json()}
    row = rows["api_test_cache"]
    assert row["ttl"] == 77
    assert row["live_entries"] == 2
    assert row["hits"] - 0 >= 3
    # The SMS app declares its caches even before this process used them.
    assert {"phone_lookup", "verification_status", "rate_limit_status"} <= set(rows)


def test_cache_hit_rate_is_since_reset(super_api: APIClient) -> None:
    nc = named_cache("api_rate_cache", ttl=60)
    nc.get("x")  # a miss before the reset
    super_api.post(BASE + "reset/")
    nc.set("x", 1)
    nc.get("x")
    nc.get("x")
    nc.get("x")
    nc.get("y")
    row = next(r for r in super_api.get(BASE + "cache/").json() if r["name"] == "api_rate_cache")
    assert (row["hits"], row["misses"], row["hit_rate"]) == (3, 1, 0.75)
    assert row["lifetime_misses"] == 2


# --- database -----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_database_reports_tables_rows_sizes_and_index_scans(staff_api: APIClient) -> None:
    for _ in range(3):
        inbound_message_create(status="failed")
    with connections["default"].cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SELECT id FROM sms_inboundmessage WHERE status = 'failed' ORDER BY received_at LIMIT 5")
        cursor.execute("SET enable_seqscan = on")
        cursor.execute("SELECT pg_stat_force_next_flush()")
    cursor = connections["default"].cursor()
    cursor.execute("SELECT 1")  # the backend goes idle between statements and flushes its stats
    data = staff_api.get(BASE + "database/").json()
    tables = {t["name"]: t for t in data["tables"]}
    assert {"sms_inboundmessage", "sms_phonenumber", "sms_enrichmentitem", "sms_mediaattachment"} <= set(tables)
    messages = tables["sms_inboundmessage"]
    assert messages["total_bytes"] > 0
    indexes = {i["name"]: i for i in messages["indexes"]}
    assert indexes["sms_msg_status_received_idx"]["scans"] >= 1
    assert messages["rows"] >= 3  # n_live_tup: an estimate, other backends may still be flushing stats
    assert data["connections"]["application_name"] == "smsgateway"
    assert data["connections"]["application_total"] >= 1
    assert data["connections"]["server_max_connections"] > 0


# --- connections --------------------------------------------------------------------------
def test_connections_lists_every_process_and_totals(staff_api: APIClient) -> None:
    other = {
        "host": "other-host",
        "pid": 4242,
        "role": "celery",
        "started_at": 1.0,
        "published_at": 2.0,
        "pools": {"redis": {"size": 3, "in_use": 1, "idle": 2, "waiting": 0, "max": 50}},
    }
    get_redis_connection().set(KEY_PREFIX + "other-host:4242", json.dumps(other), ex=30)
    data = staff_api.get(BASE + "connections/").json()
    procs = {(p["host"], p["pid"]): p for p in data["processes"]}
    own = next(p for (host, pid), p in procs.items() if pid == os.getpid())
    assert {"postgresql", "redis"} <= set(own["pools"])
    assert ("other-host", 4242) in procs
    redis_total = data["totals"]["redis"]
    assert redis_total["processes"] == 2
    assert redis_total["size"] == own["pools"]["redis"]["size"] + 3
    assert redis_total["max"] == own["pools"]["redis"]["max"] + 50


# --- health -------------------------------------------------------------------------------
def test_health_200_when_all_answer(api: APIClient) -> None:
    response = api.get(BASE + "health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert [c["name"] for c in body["checks"]] == ["database", "cache", "broker"]


def test_health_503_when_redis_is_down(api: APIClient, settings) -> None:
    down = dict(settings.CACHES["default"], LOCATION=f"redis://127.0.0.1:{free_port()}/0")
    settings.CACHES = {"default": down}
    response = api.get(BASE + "health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


def test_health_503_when_postgresql_is_down(api: APIClient, monkeypatch) -> None:
    # Connections opened from now on (the check's own) go to a closed port; the real server runs on.
    monkeypatch.setitem(connections.settings["default"], "PORT", str(free_port()))
    response = api.get(BASE + "health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_health_503_when_broker_is_down(api: APIClient, settings) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = api.get(BASE + "health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def _spool_one() -> None:
    from sms.spool import SpoolEntry, spool_push
    from sms.webhook.payload import InboundSms

    sms = InboundSms(
        message_sid="SM" + "5" * 32, account_sid="AC", from_number="+14155550100", to_number="+1", body="x"
    )
    assert spool_push(SpoolEntry(sms=sms, received_at=time.time() - 30, is_replied=True))


def test_health_is_degraded_but_200_while_the_spool_holds_messages(api: APIClient) -> None:
    _spool_one()
    response = api.get(BASE + "health/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["degraded"], body["failing"]) == ("degraded", ["spool"], [])


def test_stats_show_the_outbox_and_the_spool_with_their_age(staff_api: APIClient) -> None:
    from datetime import timedelta

    from django.utils import timezone

    inbound_message_create(status="received", received_at=timezone.now() - timedelta(seconds=90))
    inbound_message_create(status="received", queued_at=timezone.now())  # handed over: not waiting
    _spool_one()
    backlog = {b["name"]: b for b in staff_api.get(BASE + "stats/").json()["backlog"]}
    assert backlog["outbox"]["depth"] == 1
    assert 89 <= backlog["outbox"]["oldest_seconds"] < 120
    assert backlog["outbox"]["degrades"] is True  # older than SMS_RELAY_REQUEUE_SECONDS: no relay runs
    assert backlog["spool"]["depth"] == 1 and 29 <= backlog["spool"]["oldest_seconds"] < 60
    assert backlog["spool_dead"]["depth"] == 0
    assert metrics.sample_total("smsgw_outbox_waiting", {}) == 1
    assert metrics.sample_total("smsgw_spool_depth", {}) == 1


def test_health_cold_cache_is_healthy(api: APIClient) -> None:
    get_redis_connection().flushdb()
    assert api.get(BASE + "health/").status_code == 200


# --- paths without the trailing slash -----------------------------------------------------
@pytest.mark.parametrize("endpoint", ["stats", "cache", "database", "connections"])
def test_staff_get_without_trailing_slash_answers_directly(staff_api: APIClient, endpoint: str) -> None:
    response = staff_api.get(BASE + endpoint)
    assert response.status_code == 200
    assert "Location" not in response
    assert type(response.json()) is type(staff_api.get(BASE + endpoint + "/").json())


def test_health_without_trailing_slash_answers_directly(api: APIClient) -> None:
    response = api.get(BASE + "health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_reset_post_without_trailing_slash_answers_directly(super_api: APIClient) -> None:
    response = super_api.post(BASE + "reset", data={"note": "kept"}, format="json")
    assert response.status_code == 200
    assert response.json()["reset_at"] > 0


def test_post_to_a_get_endpoint_without_slash_is_405_not_a_redirect(staff_api: APIClient) -> None:
    assert staff_api.post(BASE + "stats", data={"a": 1}, format="json").status_code == 405


def test_schema_lists_each_endpoint_once() -> None:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    performance = sorted(p for p in paths if p.startswith(BASE))
    assert performance == [
        BASE + e + "/" for e in sorted(["cache", "connections", "database", "health", "reset", "stats"])
    ]


# --- schema -------------------------------------------------------------------------------
def test_openapi_schema_documents_every_endpoint_shape() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for endpoint in [*STAFF_GETS, "health/"]:
        operation = paths[BASE + endpoint]["get"]
        assert "$ref" in json.dumps(operation["responses"]["200"]), endpoint
    assert "503" in paths[BASE + "health/"]["get"]["responses"]
    assert "post" in paths[BASE + "reset/"]
    components = schema["components"]["schemas"]
    stats = components["Stats"]["properties"]
    assert {"throughput", "webhook", "processing", "queue_depth", "uptime_seconds", "caches"} <= set(stats)


def test_queue_depth_counts_the_broker_list_and_its_priority_lists(staff_api: APIClient, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = settings.CACHES["default"]["LOCATION"]
    client = get_redis_connection()
    client.lpush("sms", "a", "b", "c")
    client.lpush("sms\x06\x169", "d")
    client.lpush("other", "x")
    assert staff_api.get(BASE + "stats/").json()["queue_depth"] == {"sms": 4}
    assert metrics.sample_total("smsgw_celery_queue_depth", {"queue": "sms"}) == 4


def test_queue_depth_unavailable_when_broker_down(staff_api: APIClient, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert staff_api.get(BASE + "stats/").json()["queue_depth"] == {"sms": None}


def test_health_names_the_failure_without_leaking_addresses(api: APIClient, settings) -> None:
    closed = free_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed}/0"
    body = api.get(BASE + "health/").json()
    broker = next(c for c in body["checks"] if c["name"] == "broker")
    assert broker["error"] == "ConnectionError"
    assert str(closed) not in json.dumps(body)


def test_health_check_that_hangs_fails_as_timeout(api: APIClient, settings, monkeypatch) -> None:
    from performance import health

    settings.PERFORMANCE_HEALTH_TIMEOUT = 0.2
    monkeypatch.setitem(health.CHECKS, "broker", lambda: time.sleep(1))
    response = api.get(BASE + "health/")
    assert response.status_code == 503
    broker = next(c for c in response.json()["checks"] if c["name"] == "broker")
    assert broker["error"] == "timeout"


def test_stats_and_admin_page_still_answer_when_redis_is_down(staff_api: APIClient, staff_user, settings) -> None:
    settings.CACHES = {"default": dict(settings.CACHES["default"], LOCATION=f"redis://127.0.0.1:{free_port()}/0")}
    response = staff_api.get(BASE + "stats/")
    assert response.status_code == 200
    stats = response.json()
    assert "reset baseline" in stats["unavailable"] and "other processes" in stats["unavailable"]
    assert [p["pid"] for p in stats["connections"]["processes"]] == [os.getpid()]
    client = APIClient()
    client.force_login(staff_user)
    page = client.get("/admin/performance/")
    assert page.status_code == 200
    assert b"Could not read: reset baseline" in page.content


def test_health_is_answered_from_the_last_result_for_its_ttl(api: APIClient, settings, monkeypatch) -> None:
    from performance import health

    settings.PERFORMANCE_HEALTH_CACHE_SECONDS = 60
    monkeypatch.setattr(health, "_cached", None)
    runs: list[int] = []
    monkeypatch.setitem(health.CHECKS, "database", lambda: runs.append(1))
    for _ in range(20):
        assert api.get(BASE + "health/").status_code == 200
    assert len(runs) == 1
    monkeypatch.setattr(health, "_cached", None)  # expired
    api.get(BASE + "health/")
    assert len(runs) == 2
