"""One path, several operation APIs (sms.api.common.MethodDispatcher): each method reaches its own
class, and the path answers as one view would (Allow, 405, OPTIONS, HEAD, CSRF, browsable API)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import resolve, reverse
from rest_framework.request import Request
from rest_framework.response import Response

from sms.api.common import MethodDispatcher, OperationApi
from sms.api.linking import PhoneNumberDetailApi, PhoneNumberLinkApi, PhoneNumberUnlinkApi
from sms.api.review import EnrichmentItemDetailApi, EnrichmentItemUpdateApi
from sms.tests.factories import enrichment_item_create, phone_number_create, user_create

pytestmark = pytest.mark.django_db

PHONE = "/api/user/phone-number"
PHONE_METHODS = "GET, POST, DELETE, HEAD, OPTIONS"


def _signed_in(**client_options: Any) -> Client:
    client = Client(**client_options)
    client.force_login(phone_number_create().user)
    return client


def test_url_names_reverse_to_the_same_paths() -> None:
    assert reverse("phone-number") == PHONE
    assert reverse("enrichment-item", kwargs={"item_id": 7}) == "/api/enrichment-items/7"


@pytest.mark.parametrize(
    ("method", "operation"),
    [("GET", PhoneNumberDetailApi), ("POST", PhoneNumberLinkApi), ("DELETE", PhoneNumberUnlinkApi)],
)
def test_each_method_reaches_its_own_operation(method: str, operation: type[OperationApi]) -> None:
    dispatcher = resolve(PHONE).func
    assert isinstance(dispatcher, MethodDispatcher)
    assert dispatcher.routes[method].cls is operation  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", ["get", "post", "delete", "put", "options", "head"])
def test_every_answer_allows_the_paths_methods(method: str) -> None:
    response = getattr(_signed_in(), method)(PHONE)
    assert response["Allow"] == PHONE_METHODS


def test_the_detail_path_allows_get_and_patch() -> None:
    client = Client()
    user = user_create()
    client.force_login(user)
    response = client.get(f"/api/enrichment-items/{enrichment_item_create(user=user).pk}")
    assert response.status_code == 200
    assert response["Allow"] == "GET, PATCH, HEAD, OPTIONS"


@pytest.mark.parametrize("method", ["put", "patch", "trace"])
def test_a_method_no_operation_handles_is_405(method: str) -> None:
    response = getattr(_signed_in(), method)(PHONE)
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


def test_a_method_no_operation_handles_is_refused_to_anonymous_callers_first() -> None:
    assert Client().put(PHONE).status_code == 401


def test_head_is_answered_by_the_get_operation() -> None:
    response = _signed_in().head(PHONE)
    assert response.status_code == 200 and response.content == b""


def test_options_describes_the_path() -> None:
    response = _signed_in().options(PHONE)
    assert response.status_code == 200
    assert {"name", "description", "renders", "parses"} <= set(response.json())


def test_session_callers_still_need_the_csrf_token() -> None:
    client = _signed_in(enforce_csrf_checks=True)
    refused = client.delete(PHONE)
    assert refused.status_code == 403 and refused.json()["detail"].startswith("CSRF Failed")
    client.get(PHONE, HTTP_ACCEPT="text/html")  # the browsable page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert client.delete(PHONE, HTTP_X_CSRFTOKEN=token).status_code == 204


def test_the_browsable_api_offers_every_operation_of_the_path() -> None:
    page = _signed_in().get(PHONE, HTTP_ACCEPT="text/html").content.decode()
    assert 'data-method="OPTIONS"' in page
    assert "Make a POST request" in page
    assert "Make a DELETE request" in page


def test_the_browsable_api_offers_patch_on_the_item_path() -> None:
    client = Client()
    user = user_create()
    client.force_login(user)
    page = client.get(f"/api/enrichment-items/{enrichment_item_create(user=user).pk}", HTTP_ACCEPT="text/html")
    assert 'data-method="PATCH"' in page.content.decode()


class _TwoOperationsApi(OperationApi):
    def get(self, request: Request) -> Response:
        return Response()

    def post(self, request: Request) -> Response:
        return Response()


def test_an_operation_api_handles_one_method() -> None:
    with pytest.raises(ImproperlyConfigured, match="handles one"):
        MethodDispatcher(_TwoOperationsApi)


def test_a_path_takes_one_operation_per_method() -> None:
    with pytest.raises(ImproperlyConfigured, match="one operation API per method"):
        MethodDispatcher(EnrichmentItemDetailApi, PhoneNumberDetailApi)
    assert MethodDispatcher(EnrichmentItemDetailApi, EnrichmentItemUpdateApi).operations.keys() == {"GET", "PATCH"}
