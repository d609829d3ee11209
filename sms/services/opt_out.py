"""Opt-out (STOP) and opt-in (START) of a number, linked to a user or not."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from sms.masking import mask_phone
from sms.models import OptOut, PhoneNumber
from sms.senders import sender_forget

logger = logging.getLogger(__name__)


def phone_number_opt_out_set(*, number: str, opted_out: bool, keyword: str = "") -> bool:
    """Record (or clear) that ``number`` wants no messages from us. Returns whether anything changed.

    The OptOut row is the durable record for every number; a linked PhoneNumber mirrors it in
    ``opted_out_at``. Caches are invalidated after commit, so no reader sees the old state
    after this returns.
    """
    now = timezone.now()
    with transaction.atomic():
        if opted_out:
            _, changed = OptOut.objects.get_or_create(number=number, defaults={"opted_out_at": now, "keyword": keyword})
            PhoneNumber.objects.filter(number=number, opted_out_at__isnull=True).update(opted_out_at=now)
        else:
            changed = OptOut.objects.filter(number=number).delete()[0] > 0
            changed = (
                PhoneNumber.objects.filter(number=number).exclude(opted_out_at=None).update(opted_out_at=None) > 0
                or changed
            )
        user_id = PhoneNumber.objects.filter(number=number).values_list("user_id", flat=True).first()
        transaction.on_commit(lambda: sender_forget(number=number, user_id=user_id))
    if changed:
        logger.info("number %s opted %s", mask_phone(number), "out" if opted_out else "in")
    return changed
