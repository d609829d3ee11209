"""Constraints and indexes exist in PostgreSQL, and the named queries use them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from sms.models import EnrichmentItem, ItemKind, ItemSource, ItemStatus, PhoneNumber
from sms.tests.factories import inbound_message_create, phone_number_create, user_create

pytestmark = pytest.mark.django_db

EXPECTED_INDEXES = {
    # name: (table, fragments the definition must contain, predicate or None)
    "sms_phone_verified_idx": ("sms_phonenumber", ["(number, verified)"], "WHERE verified"),
    "sms_item_user_status_idx": ("sms_enrichmentitem", ["(user_id, status)"], None),
    "sms_item_created_idx": ("sms_enrichmentitem", ["(created_at DESC)"], None),
    "sms_item_user_src_status_idx": ("sms_enrichmentitem", ["(user_id, source, status)"], None),
    "sms_item_pending_idx": (
        "sms_enrichmentitem",
        ["(user_id, created_at DESC)"],
        "WHERE ((status)::text = 'pending'::text)",
    ),
    "sms_msg_status_received_idx": ("sms_inboundmessage", ["(status, received_at)"], None),
}


def _indexes() -> dict[str, tuple[str, str]]:
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        return {name: (table, definition) for name, table, definition in cur.fetchall()}


@pytest.mark.parametrize("name", sorted(EXPECTED_INDEXES))
def test_index_exists_with_its_columns_and_predicate(name: str) -> None:
    table, fragments, predicate = EXPECTED_INDEXES[name]
    indexes = _indexes()
    assert name in indexes, f"{name} missing; have {sorted(indexes)}"
    actual_table, definition = indexes[name]
    assert actual_table == table
    for fragment in fragments:
        assert fragment in definition, definition
    if predicate is None:
        assert " WHERE " not in definition, definition
    else:
        assert definition.endswith(predicate), definition


def test_unique_constraints_exist() -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE%%'"
        )
        uniques = [definition for _, definition in cur.fetchall()]
    assert any("sms_phonenumber" in d and "(number)" in d for d in uniques)
    assert any("sms_phonenumber" in d and "(user_id)" in d for d in uniques)
    assert any("sms_inboundmessage" in d and "(message_sid)" in d for d in uniques)


def test_number_is_unique() -> None:
    phone_number_create(number="+14155550100")
    with pytest.raises(IntegrityError), transaction.atomic():
        phone_number_create(number="+14155550100")


def test_one_number_per_user() -> None:
    user = user_create()
    phone_number_create(user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        phone_number_create(user=user)


def test_message_sid_is_unique() -> None:
    inbound_message_create(message_sid="SMdup")
    with pytest.raises(IntegrityError), transaction.atomic():
        inbound_message_create(message_sid="SMdup")


def _plan(queryset: object) -> str:
    sql, params = queryset.query.sql_with_params()  # type: ignore[attr-defined]
    with connection.cursor() as cur:
        # Tiny test tables always favour a sequential scan; forbid it so the planner shows
        # which index it would use for the query at production size.
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cur.fetchall())


def test_verified_sender_lookup_uses_the_partial_index() -> None:
    for _ in range(50):
        phone_number_create(verified=False)
    phone_number_create(number="+14155550199")
    with connection.cursor() as cur:
        cur.execute("ANALYZE sms_phonenumber")
    qs = PhoneNumber.objects.filter(number="+14155550199", is_verified=True).values("user_id", "opted_out_at")
    plan = _plan(qs)
    assert "sms_phone_verified_idx" in plan, plan


def test_sender_lookup_by_number_uses_an_index() -> None:
    phone_number_create(number="+14155550199")
    qs = PhoneNumber.objects.filter(number="+14155550199").values("user_id", "is_verified", "opted_out_at")
    plan = _plan(qs)
    assert "Index Scan" in plan or "Index Only Scan" in plan, plan


def test_pending_items_query_uses_the_partial_index() -> None:
    # Production-like shape: many users, each with a modest inbox.
    users = [user_create() for _ in range(50)]
    user = users[0]
    now = timezone.now()
    EnrichmentItem.objects.bulk_create(
        EnrichmentItem(
            user=users[i % len(users)],
            kind=ItemKind.NOTE,
            value=f"note {i}",
            source=ItemSource.SMS,
            status=ItemStatus.PENDING if i % 3 else ItemStatus.ACCEPTED,
            created_at=now - timedelta(minutes=i),
        )
        for i in range(5000)
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE sms_enrichmentitem")
    qs = EnrichmentItem.objects.filter(user=user, status=ItemStatus.PENDING).order_by("-created_at")[:20]
    plan = _plan(qs)
    assert "sms_item_pending_idx" in plan, plan
    assert "Sort" not in plan, plan


def test_migrations_are_complete() -> None:
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_webhook_sender_lookup_query_uses_the_number_indexes() -> None:
    """The query behind phone_lookup misses (sms.senders._PHONE_ENTRY_SQL) reads both tables by index."""
    from sms.senders import _PHONE_ENTRY_SQL

    for _ in range(50):
        phone_number_create(verified=False)
    with connection.cursor() as cur:
        cur.execute("ANALYZE sms_phonenumber")
        cur.execute("ANALYZE sms_optout")
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + _PHONE_ENTRY_SQL, ["+14155550199"])
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "Index" in plan and "sms_phonenumber" in plan and "sms_optout" in plan, plan
    assert "Seq Scan" not in plan, plan
