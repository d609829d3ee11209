"""Enrichment review API: own items only, filters, pagination, newest first, accept/reject."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from sms.models import EnrichmentItem, ItemKind, ItemSource, ItemStatus
from sms.selectors import enrichment_item_list
from sms.tests.factories import enrichment_item_create, inbound_message_create, user_create

pytestmark = pytest.mark.django_db

URL = "/api/enrichment-items"


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ids(response: Any) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def test_lists_only_the_callers_items_newest_first() -> None:
    alice, bob = user_create(), user_create()
    now = timezone.now()
    old = enrichment_item_create(user=alice, created_at=now - timedelta(hours=2))
    new = enrichment_item_create(user=alice, created_at=now - timedelta(minutes=1))
    enrichment_item_create(user=bob)
    response = _client(alice).get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert _ids(response) == [new.pk, old.pk]


def test_item_fields() -> None:
    user = user_create()
    message = inbound_message_create(user=user, message_sid="SMfields")
    item = enrichment_item_create(user=user, message=message, value="#running", kind=ItemKind.TAG, metadata={"a": 1})
    body = _client(user).get(URL).json()["results"][0]
    assert body == {
        "id": item.pk,
        "kind": "tag",
        "value": "#running",
        "source": "sms",
        "status": "pending",
        "person": None,
        "location": None,
        "contact": None,
        "date": None,
        "metadata": {"a": 1},
        "message_sid": "SMfields",
        "media": None,
        "created_at": body["created_at"],
    }


def test_person_and_location_items_carry_their_structured_fields() -> None:
    user = user_create()
    message = inbound_message_create(user=user, message_sid="SMdetails")
    context = "Had lunch with Sarah, she's training for the Boston marathon"
    enrichment_item_create(
        user=user, message=message, value="Sarah", kind=ItemKind.PERSON, metadata={"name": "Sarah", "context": context}
    )
    enrichment_item_create(
        user=user,
        message=message,
        value="Boston",
        kind=ItemKind.LOCATION,
        metadata={"place": "Boston", "kind": "city", "country": "US", "latitude": 42.35843, "longitude": -71.05977},
    )
    location, person = _client(user).get(URL).json()["results"]
    assert person["person"] == {"name": "Sarah", "context": context}
    assert person["location"] is None
    assert location["location"] == {
        "place": "Boston",
        "kind": "city",
        "country": "US",
        "latitude": 42.35843,
        "longitude": -71.05977,
    }


@pytest.mark.parametrize(
    ("param", "value", "field"),
    [("status", "accepted", "status"), ("source", "voice", "source"), ("kind", "contact", "kind")],
)
def test_filters(param: str, value: str, field: str) -> None:
    user = user_create()
    match = enrichment_item_create(user=user, **{field: value})
    enrichment_item_create(user=user)  # pending note from sms
    response = _client(user).get(URL, {param: value})
    assert _ids(response) == [match.pk]


def test_filters_combine() -> None:
    user = user_create()
    hit = enrichment_item_create(user=user, source=ItemSource.VOICE, kind=ItemKind.TAG)
    enrichment_item_create(user=user, source=ItemSource.VOICE, kind=ItemKind.NOTE)
    enrichment_item_create(user=user, source=ItemSource.SMS, kind=ItemKind.TAG)
    assert _ids(_client(user).get(URL, {"source": "voice", "kind": "tag", "status": "pending"})) == [hit.pk]


def test_unknown_filter_value_is_400() -> None:
    response = _client(user_create()).get(URL, {"status": "deleted"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_paginated() -> None:
    user = user_create()
    now = timezone.now()
    items = [enrichment_item_create(user=user, created_at=now - timedelta(seconds=i)) for i in range(7)]
    client = _client(user)
    first = client.get(URL, {"page_size": 3})
    assert first.json()["count"] == 7
    assert _ids(first) == [i.pk for i in items[:3]]
    assert first.json()["next"]
    third = client.get(URL, {"page_size": 3, "page": 3})
    assert _ids(third) == [items[6].pk]
    assert third.json()["next"] is None


def test_default_page_size_is_50() -> None:
    user = user_create()
    EnrichmentItem.objects.bulk_create(
        EnrichmentItem(user=user, kind="note", value=str(i), source="sms") for i in range(60)
    )
    assert len(_client(user).get(URL).json()["results"]) == 50


def test_unauthenticated_is_refused() -> None:
    assert APIClient().get(URL).status_code in (401, 403)


@pytest.mark.parametrize("status", ["accepted", "rejected"])
def test_patch_sets_the_review_status(status: str) -> None:
    user = user_create()
    item = enrichment_item_create(user=user)
    response = _client(user).patch(f"{URL}/{item.pk}", {"status": status}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == status
    item.refresh_from_db()
    assert item.status == status


def test_owner_can_change_their_mind() -> None:
    user = user_create()
    item = enrichment_item_create(user=user, status=ItemStatus.ACCEPTED)
    assert _client(user).patch(f"{URL}/{item.pk}", {"status": "rejected"}, format="json").status_code == 200
    item.refresh_from_db()
    assert item.status == ItemStatus.REJECTED


def test_patching_another_users_item_is_404_and_changes_nothing() -> None:
    owner, attacker = user_create(), user_create()
    item = enrichment_item_create(user=owner)
    response = _client(attacker).patch(f"{URL}/{item.pk}", {"status": "rejected"}, format="json")
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING


def test_reading_another_users_item_is_404() -> None:
    item = enrichment_item_create(user=user_create())
    assert _client(user_create()).get(f"{URL}/{item.pk}").status_code == 404


def test_other_users_item_and_missing_item_answer_the_same() -> None:
    item = enrichment_item_create(user=user_create())
    client = _client(user_create())
    theirs = client.patch(f"{URL}/{item.pk}", {"status": "accepted"}, format="json")
    missing = client.patch(f"{URL}/{item.pk + 100000}", {"status": "accepted"}, format="json")
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())


@pytest.mark.parametrize("status", ["pending", "applied", "bogus", ""])
def test_only_accepted_or_rejected_can_be_set(status: str) -> None:
    user = user_create()
    item = enrichment_item_create(user=user)
    assert _client(user).patch(f"{URL}/{item.pk}", {"status": status}, format="json").status_code == 400
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING


def test_applied_item_cannot_change() -> None:
    user = user_create()
    item = enrichment_item_create(user=user, status=ItemStatus.APPLIED)
    response = _client(user).patch(f"{URL}/{item.pk}", {"status": "rejected"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "item_applied"


def test_patch_ignores_other_fields() -> None:
    user = user_create()
    item = enrichment_item_create(user=user, value="original")
    other = user_create()
    _client(user).patch(f"{URL}/{item.pk}", {"status": "accepted", "value": "x", "user": other.pk}, format="json")
    item.refresh_from_db()
    assert (item.value, item.user_id) == ("original", user.pk)


def test_pending_inbox_query_is_served_by_the_pending_index() -> None:
    """A user with a long review inbox in a table of many users' items: the partial index hands
    over their pending rows already in created_at order, so a page reads ~50 rows."""
    me, *others = [user_create() for _ in range(20)]
    now = timezone.now()
    EnrichmentItem.objects.bulk_create(
        EnrichmentItem(
            user=me if i % 30 == 0 else others[i % 19],
            kind="note",
            value="v",
            source="sms",
            status=ItemStatus.PENDING if i % 30 == 0 or i % 7 == 0 else ItemStatus.ACCEPTED,
            created_at=now - timedelta(seconds=i),
        )
        for i in range(30000)
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE sms_enrichmentitem")
    plan = enrichment_item_list(user_id=me.pk, status=ItemStatus.PENDING)[:50].explain()
    assert "sms_item_pending_idx" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_list_costs_two_queries_whatever_the_page_holds() -> None:
    user = user_create()
    for i in range(30):
        message = inbound_message_create(user=user, message_sid=f"SMq{i}")
        enrichment_item_create(user=user, message=message)
    with CaptureQueriesContext(connection) as queries:
        response = _client(user).get(URL)
    assert len(response.json()["results"]) == 30
    assert len(queries.captured_queries) == 2, [q["sql"] for q in queries.captured_queries]  # count + page
