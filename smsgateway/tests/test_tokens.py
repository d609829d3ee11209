"""API tokens: hashed at rest, expiring, revoked by a password change."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from sms.tests.factories import user_create
from smsgateway.tokens import api_token_create

pytestmark = pytest.mark.django_db

ME = "/api/user/phone-number"


def _get(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get(ME).status_code


def test_a_token_works_and_only_its_hash_is_stored() -> None:
    user = user_create()
    token = api_token_create(user=user)
    assert _get(token) in (200, 404)  # authenticated: 404 only says no number is linked yet
    stored = AuthToken.objects.get(user=user)
    assert token not in (stored.digest, stored.token_key)


def test_an_expired_token_is_refused() -> None:
    token = api_token_create(user=user_create())
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert _get(token) == 401


def test_a_new_password_revokes_every_token() -> None:
    user = user_create()
    tokens = [api_token_create(user=user) for _ in range(2)]
    other = api_token_create(user=user_create())
    user.first_name = "Al"
    user.save()  # no password change: tokens stay
    assert _get(tokens[0]) != 401
    user.set_password("a brand new long passphrase")
    user.save()
    assert [_get(t) for t in tokens] == [401, 401]
    assert _get(other) != 401


def test_the_token_endpoint_says_when_it_expires(settings) -> None:
    user_create(username="bob")
    body = APIClient().post("/api/auth/token", {"username": "bob", "password": "pw-123456"}).json()
    assert body["expires_in"] == 24 * 3600 and _get(body["token"]) != 401


def test_operators_create_a_token_from_the_command_line() -> None:
    user_create(username="ops")
    out = StringIO()
    call_command("api_token_create", "ops", stdout=out)
    assert _get(out.getvalue().strip()) != 401
