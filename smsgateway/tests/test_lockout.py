"""Credential guessing: wrong passwords are counted per username and per address; then 429."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD)


def _token(client: Client, username: str, password: str) -> Any:
    return client.post("/api/auth/token", {"username": username, "password": password})


def test_the_eleventh_wrong_password_for_a_token_is_429_even_when_right(alice, settings) -> None:
    client = Client()
    codes = [_token(client, "alice", "wrong").status_code for _ in range(settings.LOCKOUT_FAILURES)]
    assert codes == [400] * settings.LOCKOUT_FAILURES
    locked = _token(client, "alice", "wrong")
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    assert int(locked["Retry-After"]) == settings.LOCKOUT_MINUTES * 60
    assert _token(client, "alice", PASSWORD).status_code == 429  # locked: the right one waits too


def test_one_address_guessing_many_usernames_is_stopped(alice, settings) -> None:
    client = Client()
    for n in range(settings.LOCKOUT_FAILURES):
        assert _token(client, f"user{n}", "wrong").status_code == 400
    assert _token(client, "alice", PASSWORD).status_code == 429


def test_many_addresses_guessing_one_username_are_stopped(alice, settings) -> None:
    for n in range(settings.LOCKOUT_FAILURES):
        assert _token(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), "alice", "wrong").status_code == 400
    assert _token(Client(REMOTE_ADDR="10.0.1.1"), "alice", PASSWORD).status_code == 429


def test_a_right_password_before_the_limit_gets_a_token(alice) -> None:
    client = Client()
    for _ in range(3):
        _token(client, "alice", "wrong")
    assert _token(client, "alice", PASSWORD).status_code == 200


def test_the_admin_locks_after_five_failures(settings) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    codes = [
        client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": "wrong"}).status_code
        for _ in range(settings.LOCKOUT_ADMIN_FAILURES)
    ]
    assert codes == [200] * (settings.LOCKOUT_ADMIN_FAILURES - 1) + [429]  # the form again, then locked
    locked = client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": PASSWORD})
    assert locked.status_code == 429


def test_a_forwarded_address_is_ignored_unless_the_proxy_is_trusted(alice, settings) -> None:
    settings.TRUST_PROXY_HEADERS = False
    for n in range(settings.LOCKOUT_FAILURES):
        # A guesser cannot escape the count by claiming another address in a header.
        _token(Client(HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"), f"u{n}", "wrong")
    assert _token(Client(), "alice", PASSWORD).status_code == 429


def test_behind_a_trusted_proxy_the_address_it_saw_counts(alice, settings) -> None:
    settings.TRUST_PROXY_HEADERS = True
    for n in range(settings.LOCKOUT_FAILURES):
        _token(Client(HTTP_X_FORWARDED_FOR="203.0.113.9"), f"u{n}", "wrong")
    assert _token(Client(HTTP_X_FORWARDED_FOR="203.0.113.9"), "alice", PASSWORD).status_code == 429
    assert _token(Client(HTTP_X_FORWARDED_FOR="198.51.100.7"), "alice", PASSWORD).status_code == 200


def test_weak_passwords_are_refused() -> None:
    for weak in ("12345678901", "password123", "short"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("a long unusual passphrase 7")


def test_the_browsable_api_login_counts_against_the_same_limit(alice, settings) -> None:
    client = Client()
    for _ in range(settings.LOCKOUT_FAILURES - 1):
        assert client.post("/api/auth/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post("/api/auth/login/", {"username": "alice", "password": "wrong"}).status_code == 429
    assert client.post("/api/auth/login/", {"username": "alice", "password": PASSWORD}).status_code == 429
