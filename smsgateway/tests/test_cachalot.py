"""django-cachalot caches read-mostly tables only; write-heavy SMS tables always hit the database."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sms.models import EnrichmentItem, InboundMessage, PhoneNumber
from sms.tests.factories import inbound_message_create, user_create

pytestmark = pytest.mark.django_db(transaction=True)


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_user_reads_are_served_from_cachalot() -> None:
    user = user_create()
    users = get_user_model().objects
    assert _queries(lambda: list(users.filter(pk=user.pk))) == 1
    assert _queries(lambda: list(users.filter(pk=user.pk))) == 0


@pytest.mark.parametrize("model", [InboundMessage, EnrichmentItem, PhoneNumber])
def test_sms_tables_are_never_cached(model) -> None:
    inbound_message_create()
    assert _queries(lambda: list(model.objects.all())) == 1
    assert _queries(lambda: list(model.objects.all())) == 1
