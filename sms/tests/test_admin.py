"""Admin pages: every model listed, numbers masked to the last 4 digits, bodies read-only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sms.models import MediaAttachment
from sms.tests.factories import enrichment_item_create, inbound_message_create, phone_number_create, user_create

pytestmark = pytest.mark.django_db

NUMBER = "+14155550123"


@pytest.fixture
def admin_client_logged_in() -> Client:
    user = user_create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def data() -> dict[str, object]:
    phone = phone_number_create(number=NUMBER)
    message = inbound_message_create(from_number=NUMBER, user=phone.user, body="Had lunch with Sarah")
    MediaAttachment.objects.create(
        message=message, index=0, url="https://api.twilio.com/x", declared_content_type="image/jpeg"
    )
    item = enrichment_item_create(user=phone.user, message=message)
    return {"phone": phone, "message": message, "item": item}


@pytest.mark.parametrize("model", ["phonenumber", "inboundmessage", "mediaattachment", "enrichmentitem"])
def test_changelist_renders_without_full_numbers(admin_client_logged_in: Client, data: dict, model: str) -> None:
    response = admin_client_logged_in.get(reverse(f"admin:sms_{model}_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert NUMBER not in html
    assert "4155550123" not in html


def test_phone_number_list_shows_masked_number(admin_client_logged_in: Client, data: dict) -> None:
    html = admin_client_logged_in.get(reverse("admin:sms_phonenumber_changelist")).content.decode()
    assert "***0123" in html


def test_search_by_number_finds_the_row(admin_client_logged_in: Client, data: dict) -> None:
    phone_number_create(number="+14155550999")
    html = admin_client_logged_in.get(reverse("admin:sms_phonenumber_changelist"), {"q": "5550123"}).content.decode()
    assert "***0123" in html
    assert "***0999" not in html


def test_message_change_page_masks_numbers_and_body_is_read_only(admin_client_logged_in: Client, data: dict) -> None:
    message = data["message"]
    url = reverse("admin:sms_inboundmessage_change", args=[message.pk])
    html = admin_client_logged_in.get(url).content.decode()
    assert NUMBER not in html
    assert "Had lunch with Sarah" in html
    assert 'name="body"' not in html  # shown, not editable


def test_phone_change_page_does_not_reveal_the_number(admin_client_logged_in: Client, data: dict) -> None:
    phone = data["phone"]
    html = admin_client_logged_in.get(reverse("admin:sms_phonenumber_change", args=[phone.pk])).content.decode()
    assert NUMBER not in html
    assert 'name="number"' not in html
