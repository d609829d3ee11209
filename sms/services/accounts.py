"""Account deletion: a user leaves nothing behind — rows, stored media files, cache entries or
rate-limit keys.

``user_delete`` is the one way the admin (and anything else) deletes a user. Deleting a user any
other way (``User.delete()``, a queryset delete, a shell) runs the same purge through a
``pre_delete`` receiver (sms.apps), so the rule holds whatever the path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import Q

from sms.models import InboundMessage, MediaAttachment, PhoneNumber
from sms.ratelimit import rate_limit_reset
from sms.senders import sender_forget, verification_status_cache

logger = logging.getLogger(__name__)

_PURGE_SCHEDULED = "_sms_purge_scheduled"


@dataclass
class _Leftovers:
    """What the database cascade cannot remove: files in storage and keys in Redis."""

    user_id: int
    numbers: set[str] = field(default_factory=set)
    files: list[tuple[Storage, str]] = field(default_factory=list)


def user_delete(*, user: AbstractBaseUser) -> None:
    """Delete ``user`` with their number, messages, attachments and files, items, caches and
    rate-limit windows."""
    user_id = user.pk
    with transaction.atomic():
        user_data_purge_schedule(user=user)
        user.delete()
    logger.info("user %s deleted with their SMS data", user_id)


def user_data_purge_schedule(*, user: AbstractBaseUser) -> None:
    """Delete what the cascade from the user row does not reach, and schedule the removal of
    files and Redis keys for after commit. Idempotent per user instance; run inside the
    transaction that deletes the user."""
    if getattr(user, _PURGE_SCHEDULED, False):
        return
    setattr(user, _PURGE_SCHEDULED, True)
    leftovers = _Leftovers(user_id=user.pk)
    # Only numbers the user texted from: a number they merely typed when linking (the send log)
    # may be someone else's, whose messages and rate-limit window are not theirs to take.
    leftovers.numbers.update(PhoneNumber.objects.filter(user_id=user.pk).values_list("number", flat=True))
    leftovers.numbers.update(
        InboundMessage.objects.filter(user_id=user.pk).values_list("from_number", flat=True).distinct()
    )
    # Messages texted from the user's number before it was linked carry no user, but they are theirs.
    messages = InboundMessage.objects.filter(
        Q(user_id=user.pk) | Q(user__isnull=True, from_number__in=[n for n in leftovers.numbers if n])
    )
    for attachment in MediaAttachment.objects.filter(message__in=messages).exclude(file="").only("file"):
        if attachment.file.name:
            leftovers.files.append((attachment.file.storage, attachment.file.name))
    # Unowned ones are not reached by the cascade; owned ones go with the user.
    messages.filter(user__isnull=True).delete()
    transaction.on_commit(lambda: _leftovers_remove(leftovers))


def _leftovers_remove(leftovers: _Leftovers) -> None:
    for storage, name in leftovers.files:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("could not delete stored media %s of deleted user %s", name, leftovers.user_id)
    for number in leftovers.numbers:
        sender_forget(number=number, user_id=leftovers.user_id)
        rate_limit_reset(number=number)
    verification_status_cache().delete(str(leftovers.user_id))
