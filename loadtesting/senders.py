"""``--setup-senders``: the load test's senders as verified users in the target's database.

Idempotent: rerunning reuses the users and numbers. Each run also clears what an earlier run
left on those numbers — opt-outs, rate-limit windows, cached lookups — and warms the
``phone_lookup`` cache, so the run measures steady state rather than a cold start.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from loadtesting.traffic import sender_number
from sms.models import PhoneNumber
from sms.ratelimit import rate_limit_reset
from sms.senders import sender_forget, sender_get

logger = logging.getLogger(__name__)

USERNAME_PREFIX = "loadtest-sender-"
BATCH = 1000


def senders_setup(*, count: int, warm_cache: bool = True) -> dict[str, int]:
    """Create/verify ``count`` senders (indexes 0..count-1); returns created/existing counts."""
    user_model = get_user_model()
    numbers = [sender_number(i) for i in range(count)]
    now = timezone.now()
    created = 0
    with transaction.atomic():
        existing = dict(PhoneNumber.objects.filter(number__in=numbers).values_list("number", "user_id"))
        missing = [(i, n) for i, n in enumerate(numbers) if n not in existing]
        usernames = [f"{USERNAME_PREFIX}{i}" for i, _ in missing]
        user_model.objects.bulk_create(
            [user_model(username=name, password=make_password(None)) for name in usernames],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        users = dict(user_model.objects.filter(username__in=usernames).values_list("username", "id"))
        taken = set(PhoneNumber.objects.filter(user_id__in=users.values()).values_list("user_id", flat=True))
        new_numbers = [
            PhoneNumber(user_id=users[f"{USERNAME_PREFIX}{i}"], number=n, is_verified=True, verified_at=now)
            for i, n in missing
            if users.get(f"{USERNAME_PREFIX}{i}") not in taken
        ]
        PhoneNumber.objects.bulk_create(new_numbers, batch_size=BATCH)
        created = len(new_numbers)
        PhoneNumber.objects.filter(number__in=numbers).exclude(is_verified=True, opted_out_at__isnull=True).update(
            is_verified=True, verified_at=now, opted_out_at=None
        )
    for number in numbers:
        sender_forget(number=number)
        rate_limit_reset(number=number)
        if warm_cache:
            sender_get(number=number)
    logger.info("loadtest: %d senders ready (%d created)", count, created)
    return {"senders": count, "created": created}
