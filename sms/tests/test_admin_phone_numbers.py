"""Admin edits of phone numbers reach the webhook's cached sender lookup at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from sms.models import PhoneNumber
from sms.selectors import phone_number_status_get
from sms.senders import SenderInfo, sender_get
from sms.tests.factories import phone_number_create, user_create

pytestmark = pytest.mark.django_db

NUMBER = "+14155550123"


@pytest.fixture
def admin_client_(client: Any) -> Any:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "admin-pw-123")
    client.force_login(admin)  # the login form itself: smsgateway/tests/test_lockout.py
    return client


def _lookup(number: str = NUMBER) -> SenderInfo:
    info = sender_get(number=number)
    assert info is not None
    return info


def _status(user_id: int) -> Any:
    status = phone_number_status_get(user_id=user_id)
    assert status is not None
    return status


def _form(phone: PhoneNumber, **changes: Any) -> dict[str, Any]:
    data = {
        "user": phone.user_id,
        "is_verified": "on" if phone.is_verified else "",
        "opted_out_at_0": "",
        "opted_out_at_1": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_admin_opt_out_is_seen_by_the_sender_lookup(admin_client_, django_capture_on_commit_callbacks) -> None:
    phone = phone_number_create(number=NUMBER, verified=True)
    assert not _lookup().is_opted_out  # cached
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            f"/admin/sms/phonenumber/{phone.pk}/change/",
            _form(phone, opted_out_at_0="2026-01-01", opted_out_at_1="00:00:00"),
        )
    assert response.status_code == 302, response.content[:2000]
    assert _lookup().is_opted_out


def test_admin_unverify_is_seen_by_the_sender_lookup(admin_client_, django_capture_on_commit_callbacks) -> None:
    phone = phone_number_create(number=NUMBER, verified=True)
    assert _lookup().is_verified
    assert _status(phone.user_id).is_verified
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_.post(f"/admin/sms/phonenumber/{phone.pk}/change/", _form(phone, is_verified=""))
    assert PhoneNumber.objects.get().is_verified is False
    assert not _lookup().is_verified
    assert not _status(phone.user_id).is_verified


def test_admin_delete_is_seen_by_the_sender_lookup(admin_client_, django_capture_on_commit_callbacks) -> None:
    phone = phone_number_create(number=NUMBER, verified=True)
    assert sender_get(number=NUMBER) is not None
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_.post(f"/admin/sms/phonenumber/{phone.pk}/delete/", {"post": "yes"})
    assert sender_get(number=NUMBER) is None


def test_admin_bulk_delete_is_seen_by_the_sender_lookup(admin_client_, django_capture_on_commit_callbacks) -> None:
    phones = [phone_number_create(number=NUMBER), phone_number_create(number="+14155550456")]
    for phone in phones:
        assert sender_get(number=phone.number) is not None
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_.post(
            "/admin/sms/phonenumber/",
            {"action": "delete_selected", "_selected_action": [p.pk for p in phones], "post": "yes"},
        )
    assert all(sender_get(number=p.number) is None for p in phones)


def test_moving_a_number_to_another_user_refreshes_both(admin_client_, django_capture_on_commit_callbacks) -> None:
    phone = phone_number_create(number=NUMBER, verified=True)
    old_owner = phone.user_id
    assert phone_number_status_get(user_id=old_owner) is not None
    new_owner = user_create()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_.post(f"/admin/sms/phonenumber/{phone.pk}/change/", _form(phone, user=new_owner.pk))
    assert phone_number_status_get(user_id=old_owner) is None
    assert _lookup().user_id == new_owner.pk
