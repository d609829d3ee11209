"""OpenAPI schema (drf-spectacular) and the browsable docs."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from sms.tests.factories import user_create

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/auth/token": {"post"},
    "/api/user/phone-number": {"get", "post", "delete"},
    "/api/user/phone-number/verify": {"post"},
    "/api/enrichment-items": {"get"},
    "/api/enrichment-items/{item_id}": {"get", "patch"},
}


def _schema() -> dict:
    client = APIClient()
    client.force_authenticate(user_create())
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_covers_the_api() -> None:
    schema = _schema()
    assert schema["openapi"].startswith("3.")
    for path, methods in PATHS.items():
        assert path in schema["paths"], sorted(schema["paths"])
        assert methods <= set(schema["paths"][path]), (path, schema["paths"][path].keys())


def test_schema_documents_error_codes_and_filters() -> None:
    schema = _schema()
    link = schema["paths"]["/api/user/phone-number"]["post"]
    assert {"201", "400", "409", "429"} <= set(link["responses"])
    params = {p["name"]: p for p in schema["paths"]["/api/enrichment-items"]["get"]["parameters"]}
    assert set(params) >= {"status", "source", "kind", "page", "page_size"}
    assert set(params["status"]["schema"]["enum"]) == {"pending", "accepted", "rejected", "applied"}
    review = schema["paths"]["/api/enrichment-items/{item_id}"]["patch"]["requestBody"]
    status = _resolve(schema, review["content"]["application/json"]["schema"])["properties"]["status"]
    assert set(_resolve(schema, status)["enum"]) == {"accepted", "rejected"}


def _resolve(schema: dict, node: dict) -> dict:
    """Follow $ref (and a single allOf wrapping one) to the component."""
    if "allOf" in node and len(node["allOf"]) == 1:
        node = node["allOf"][0]
    if "$ref" in node:
        return schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_schema_generates_without_warnings() -> None:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "/api/user/phone-number" in out.getvalue()


def test_swagger_ui_is_served_without_a_cdn() -> None:
    client = APIClient()
    client.force_authenticate(user_create())
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/api/schema/" in page
    assert "cdn" not in page.lower()
