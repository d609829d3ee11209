from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from smsgateway.tokens import api_token_create


def _user(username: str, **flags: Any) -> User:
    return User.objects.create_user(username=username, password="pw-123456", **flags)


@pytest.fixture
def staff_user(db) -> User:
    return _user("staff", is_staff=True)


@pytest.fixture
def superuser(db) -> User:
    return _user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def plain_user(db) -> User:
    return _user("plain")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_api(staff_user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=staff_user)}")
    return client


@pytest.fixture
def super_api(superuser: User) -> APIClient:
    client = APIClient()
    client.force_login(superuser)
    return client
