"""Webhook intake (DESIGN.md §3): decide what an authenticated, parsed Twilio message means,
store it once and enqueue its processing.

For a cached, verified sender this costs one Redis MGET (sender + over-limit state), one
rate-limit script call, one write transaction (INSERT … ON CONFLICT DO NOTHING, plus media
rows) and the broker publish after commit — and no database read.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from performance import metrics
from sms.caches import phone_caches_invalidate, rate_limit_status_cache
from sms.intake import InboundSms
from sms.keywords import Keyword, keyword_match
from sms.masking import mask_phone
from sms.models import MediaAttachment, MessageStatus
from sms.ratelimit import rate_limit_hit
from sms.selectors import SenderState, sender_state_get
from sms.services.opt_out import phone_number_opt_out_set

logger = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    UNKNOWN_SENDER = "unknown_sender"
    UNVERIFIED = "unverified"
    RATE_LIMITED = "rate_limited"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    HELP = "help"


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    reply: str | None = None  # None: an empty <Response/>
    message_id: int | None = None


def inbound_message_receive(*, sms: InboundSms, _retry: bool = True) -> IntakeResult:
    """Act on one inbound message: keyword, sender check, rate limit, then store and enqueue."""
    state = sender_state_get(number=sms.from_number)

    keyword = keyword_match(sms.body)
    if keyword is Keyword.OPT_OUT:
        phone_number_opt_out_set(number=sms.from_number, opted_out=True, keyword=sms.body.strip().upper())
        return IntakeResult(Outcome.OPTED_OUT)
    if keyword is Keyword.OPT_IN:
        phone_number_opt_out_set(number=sms.from_number, opted_out=False)
        return IntakeResult(Outcome.OPTED_IN, settings.SMS_OPT_IN_REPLY)
    if keyword is Keyword.HELP:
        return IntakeResult(Outcome.HELP, None if state.is_opted_out else settings.SMS_HELP_REPLY)

    if state.user_id is None:
        return _instructions(state, Outcome.UNKNOWN_SENDER, settings.SMS_UNKNOWN_SENDER_REPLY)
    if not state.is_verified:
        return _instructions(state, Outcome.UNVERIFIED, settings.SMS_UNVERIFIED_REPLY)

    if state.limited_until is not None:
        # Known over the limit: the sender was told when the window filled; no script call needed.
        metrics.RATE_LIMIT_HITS.inc()
        return IntakeResult(Outcome.RATE_LIMITED)
    limit = rate_limit_hit(number=sms.from_number, member=sms.message_sid)
    if not limit.is_allowed:
        metrics.RATE_LIMIT_HITS.inc()
        rate_limit_status_cache().set(
            sms.from_number,
            time.time() + limit.retry_after,
            ttl=max(1, min(math.ceil(limit.retry_after), settings.CACHE_RATE_LIMIT_TTL)),
        )
        logger.info("rate limit: %s over %s/h", mask_phone(sms.from_number), settings.SMS_RATE_LIMIT_PER_HOUR)
        reply = rate_limit_reply(limit.retry_after) if limit.should_notify and not state.is_opted_out else None
        return IntakeResult(Outcome.RATE_LIMITED, reply)

    try:
        message_id = inbound_message_store(sms=sms, user_id=state.user_id)
    except IntegrityError:
        if not _retry:
            raise
        # The cached sender is stale: the user was deleted (the foreign key refused the row)
        # and nobody invalidated the cache. Forget it and decide again from the database.
        logger.warning("stale phone_lookup entry for %s; retrying from the database", mask_phone(sms.from_number))
        phone_caches_invalidate(number=sms.from_number)
        return inbound_message_receive(sms=sms, _retry=False)
    ack = None if state.is_opted_out else settings.SMS_ACK_REPLY
    if message_id is None:
        return IntakeResult(Outcome.DUPLICATE, ack)
    return IntakeResult(Outcome.ACCEPTED, ack, message_id)


def rate_limit_reply(retry_after: float) -> str:
    limit = settings.SMS_RATE_LIMIT_PER_HOUR
    if retry_after < 60:
        wait = f"{max(1, math.ceil(retry_after))} seconds"
    else:
        minutes = math.ceil(retry_after / 60)
        wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return (
        f"You've reached the limit of {limit} messages per hour, so this one wasn't saved. "
        f"You can text again in {wait}."
    )


def _instructions(state: SenderState, outcome: Outcome, text: str) -> IntakeResult:
    """Link/verify instructions, at most once per number per SMS_INSTRUCTIONS_INTERVAL."""
    if state.is_opted_out:
        return IntakeResult(outcome)
    key = f"sms:instructions:{outcome.value}:{state.number}"
    try:
        first = bool(cache.add(key, 1, settings.SMS_INSTRUCTIONS_INTERVAL))
    except Exception:
        # Without a record of what we sent, send nothing: replies are paid, and a loop must be impossible.
        logger.warning("cannot record instructions to %s; not replying", mask_phone(state.number), exc_info=True)
        first = False
    return IntakeResult(outcome, text if first else None)


_INSERT_SQL = (
    "INSERT INTO sms_inboundmessage "
    "(message_sid, user_id, from_number, to_number, body, num_media, status, outcome, error_code, attempts, received_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, 'accepted', '', 0, %s) "
    "ON CONFLICT (message_sid) DO NOTHING RETURNING id"
)


def inbound_message_store(*, sms: InboundSms, user_id: int | None) -> int | None:
    """Store the message and its media in one transaction and enqueue processing on commit.

    Returns the new id, or None when the MessageSid was already stored: the unique index
    decides, so concurrent deliveries on different workers store and process it once.
    """
    received_at = connection.ops.adapt_datetimefield_value(timezone.now())
    # A plain SMS is one INSERT: in autocommit it is its own transaction, which saves the
    # BEGIN and COMMIT round trips of an explicit one. Media rows need the explicit transaction.
    # Inside a caller's transaction a savepoint keeps a refused INSERT from breaking it.
    with transaction.atomic() if sms.media or connection.in_atomic_block else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_SQL,
                [
                    sms.message_sid,
                    user_id,
                    sms.from_number,
                    sms.to_number,
                    sms.body,
                    sms.num_media,
                    MessageStatus.RECEIVED.value,
                    received_at,
                ],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        message_id = int(row[0])
        if sms.media:
            MediaAttachment.objects.bulk_create(
                MediaAttachment(message_id=message_id, index=m.index, url=m.url, declared_content_type=m.content_type)
                for m in sms.media
            )
        transaction.on_commit(lambda: _enqueue(message_id))
    return message_id


def _enqueue(message_id: int) -> None:
    from sms.tasks import process_inbound_message

    try:
        process_inbound_message.delay(message_id)
    except Exception:
        # The row is committed as `received`; the processing sweep picks it up later.
        logger.exception("could not enqueue inbound message %s", message_id)
