"""/metrics: our instruments with django-prometheus', behind an optional allowlist or token."""

from __future__ import annotations

import pytest
from django.test import Client

from performance import metrics

pytestmark = pytest.mark.django_db


def test_metrics_open_by_default_with_our_and_django_series(client: Client) -> None:
    metrics.WEBHOOK_OUTCOMES.labels("accepted").inc()
    metrics.WEBHOOK_LATENCY.labels("accepted").observe(0.002)  # run alone, nothing else observed one
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    for name in (
        "smsgw_webhook_outcomes_total",
        "smsgw_webhook_latency_seconds_bucket",
        "smsgw_celery_queue_depth",
        "smsgw_pool_connections",
        "django_http_requests_before_middlewares_total",
    ):
        assert name in text, name


def test_metrics_scrape_refreshes_pool_gauges(client: Client) -> None:
    text = client.get("/metrics").content.decode()
    assert 'smsgw_pool_connections{pool="redis",state="max"}' in text


def test_bearer_token_required_when_set(client: Client, settings) -> None:
    settings.METRICS_BEARER_TOKEN = "s3cret-token"
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_allowlisted_address_passes_and_others_are_refused(client: Client, settings) -> None:
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics").status_code == 200


def test_token_also_passes_when_address_is_not_allowlisted(client: Client, settings) -> None:
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.METRICS_BEARER_TOKEN = "tok"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer tok").status_code == 200
    assert client.get("/metrics").status_code == 401


def test_a_non_ascii_token_is_a_401_not_a_500(client: Client, settings) -> None:
    settings.METRICS_BEARER_TOKEN = "scrape-token"
    response = client.get("/metrics", headers={"Authorization": "Bearer t\u00f6ken-\u00e9"})
    assert response.status_code == 401
