"""Admin: reprocessing failed messages."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client

from sms.models import MessageStatus
from sms.relay import outbox_dispatch
from sms.tests.factories import inbound_message_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_reprocess_resets_failed_messages_and_enqueues_them(caplog) -> None:
    admin = User.objects.create_superuser("root", "root@example.com", "pw-123456")
    owner = User.objects.create_user("owner", "owner@example.com", "pw-123456")
    failed = inbound_message_create(
        user=owner,
        body="Coffee with Ana #friends",
        status=MessageStatus.FAILED,
        error_code="speech_timeout",
        attempts=3,
    )
    done = inbound_message_create(status=MessageStatus.PROCESSED)
    client = Client()
    client.force_login(admin)
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/admin/sms/inboundmessage/",
            {"action": "reprocess", "_selected_action": [failed.pk, done.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert b"1 failed message(s) queued for processing" in response.content
    assert b"1 selected message(s) were not failed" in response.content
    failed.refresh_from_db()
    assert (failed.status, failed.queued_at) == (MessageStatus.RECEIVED, None)  # back in the outbox
    assert outbox_dispatch() == (1, 0)  # the relay hands it out (eager tasks in tests run it)
    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.status, failed.error_code) == (MessageStatus.PROCESSED, "")
    assert sorted(failed.items.values_list("kind", flat=True)) == ["note", "person", "tag"]
    assert done.status == MessageStatus.PROCESSED
    assert not done.items.exists()
