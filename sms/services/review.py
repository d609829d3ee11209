"""Enrichment review: the owner accepts or rejects what their messages produced."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import Http404

from sms.exceptions import EnrichmentItemLocked
from sms.models import EnrichmentItem, ItemStatus

REVIEW_STATUSES = (ItemStatus.ACCEPTED, ItemStatus.REJECTED)


def enrichment_item_review(*, user: AbstractBaseUser, item_id: int, status: str) -> EnrichmentItem:
    """Set the item's status to accepted or rejected. Owners may change their mind until the
    item is applied. Another user's item does not exist (Http404), so ids reveal nothing."""
    if status not in REVIEW_STATUSES:
        raise ValueError(f"review status must be one of {REVIEW_STATUSES}, got {status!r}")
    with transaction.atomic():
        item = EnrichmentItem.objects.select_for_update().filter(pk=item_id, user_id=user.pk).first()
        if item is None:
            raise Http404("No such item.")
        if item.status == ItemStatus.APPLIED:
            raise EnrichmentItemLocked()
        if item.status != status:
            item.status = status
            item.save(update_fields=["status"])
    return item
