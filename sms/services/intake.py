"""Webhook intake (docs/ARCHITECTURE.md): decide what an authenticated, parsed Twilio message
means and store it once. The stored row is the outbox: nothing is published to the broker here;
the relay (``sms/relay.py``) hands stored messages to Celery.

For a cached, verified sender this costs one Redis MGET (sender + over-limit state), one
rate-limit script call and one INSERT in autocommit (plus media rows in the same transaction)
— no database read and no broker publish.

When PostgreSQL does not answer, the parsed message goes to the Redis spool (``sms/spool.py``)
and the sender is answered as usual: what the cached sender state can decide is decided now,
the rest when the relay drains the spool (its replies then go out by SMS). Only when Redis
cannot take the message either does the webhook answer 503 (``IntakeUnavailable``).
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from performance import metrics
from sms.exceptions import SmsError
from sms.keywords import Keyword, keyword_of
from sms.masking import mask_phone
from sms.models import InboundMessage, MediaAttachment, MessageStatus
from sms.ratelimit import rate_limit_hit, rate_limit_memo_set
from sms.senders import SenderState, instructions_claim, keyword_reply_claim, sender_forget, sender_state_get
from sms.services.opt_out import phone_number_opt_out_set
from sms.spool import SpoolEntry, spool_push
from sms.webhook.payload import InboundSms

T = TypeVar("T")

# A connection that failed or could not be made: an outage, not bad data (DataError) or a bug.
OUTAGE_ERRORS = (OperationalError, InterfaceError)


class IntakeUnavailable(SmsError):
    """Neither PostgreSQL nor the Redis spool can take the message: nothing was acknowledged."""

    status_code = 503
    code = "unavailable"


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
    # From a channel other than SMS/MMS (whatsapp:, messenger:): refused, not stored, no reply.
    UNSUPPORTED_CHANNEL = "unsupported_channel"
    # Acknowledged and kept in the Redis spool while PostgreSQL is unreachable.
    SPOOLED = "spooled"


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    reply: str | None = None  # None: an empty <Response/>


class _DatabaseDown(Exception):
    """Internal: a database step of the decision failed with an outage."""

    def __init__(self, reply: str | None, *, is_replied: bool) -> None:
        super().__init__("database unavailable")
        self.reply = reply
        self.is_replied = is_replied


def _or_spool(step: Callable[[], T], *, reply: str | None = None, is_replied: bool = True) -> T:
    """Run a database step; on an outage, stop the decision here so the message is spooled."""
    try:
        return step()
    except OUTAGE_ERRORS as exc:
        raise _DatabaseDown(reply, is_replied=is_replied) from exc


def inbound_message_receive(*, sms: InboundSms) -> IntakeResult:
    """Act on one webhook delivery: keyword, sender check, rate limit, then store it.

    Spools the message when PostgreSQL is unreachable; raises ``IntakeUnavailable`` when the
    spool cannot take it either.
    """
    received_at = timezone.now()
    try:
        return _receive(sms, received_at=received_at)
    except _DatabaseDown as down:
        entry = SpoolEntry(sms=sms, received_at=received_at.timestamp(), is_replied=down.is_replied)
        if not spool_push(entry):
            logger.error(
                "webhook: neither database nor spool available; message %s from %s not taken",
                sms.message_sid,
                mask_phone(sms.from_number),
            )
            raise IntakeUnavailable("temporarily unavailable, retry later") from down
        logger.warning(
            "webhook: database unavailable; message %s from %s spooled", sms.message_sid, mask_phone(sms.from_number)
        )
        return IntakeResult(Outcome.SPOOLED, down.reply)


def inbound_message_drain(*, entry: SpoolEntry) -> IntakeResult:
    """Write a spooled message (the relay, once the database answers): the same decision as the
    webhook, made now with the database; a reply the webhook could not give goes out by SMS.

    Deduplicated by MessageSid like every delivery. Raises the outage error when the database
    is still unreachable, so the entry stays in the spool.
    """
    received_at = datetime.fromtimestamp(entry.received_at, tz=timezone.get_current_timezone())
    try:
        result = _receive(entry.sms, received_at=received_at)
    except _DatabaseDown as down:
        assert down.__cause__ is not None
        raise down.__cause__
    if result.reply and not entry.is_replied:
        from sms.tasks import sms_reply_send_task

        try:
            sms_reply_send_task.delay(to=entry.sms.from_number, body=result.reply)
        except Exception:
            # The message itself is written; only the courtesy reply is lost with the broker.
            logger.warning("spool drain: reply to %s not sent (broker unavailable)", mask_phone(entry.sms.from_number))
    metrics.SPOOL_DRAINED.labels(result.outcome.value).inc()
    return result


def _receive(sms: InboundSms, *, received_at: datetime, _retry: bool = True) -> IntakeResult:
    if sms.channel != "sms":
        # A WhatsApp (or other channel) sender is not the phone number a user verified, and a
        # reply would have to go back on that channel under its own rules: refused, no reply.
        logger.info("webhook: %s message %s refused (unsupported channel)", sms.channel, sms.message_sid)
        return IntakeResult(Outcome.UNSUPPORTED_CHANNEL)

    # A cache miss falls back to the database; with that down nothing is decided yet.
    state = _or_spool(lambda: sender_state_get(number=sms.from_number), is_replied=False)

    keyword = keyword_of(body=sms.body, opt_out_type=sms.opt_out_type)
    # Twilio answers STOP, START and HELP itself unless told not to: then we must not answer too.
    keyword_replies = not settings.SMS_TWILIO_HANDLES_KEYWORD_REPLIES
    if keyword is not None:
        return _keyword(sms, keyword, state, received_at=received_at, replies=keyword_replies)

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
        rate_limit_memo_set(sms.from_number, limit.retry_after)
        logger.info("rate limit: %s over %s/h", mask_phone(sms.from_number), settings.SMS_RATE_LIMIT_PER_HOUR)
        reply = rate_limit_reply(limit.retry_after) if limit.should_notify and not state.is_opted_out else None
        return IntakeResult(Outcome.RATE_LIMITED, reply)

    ack = None if state.is_opted_out else settings.SMS_ACK_REPLY
    user_id = state.user_id
    try:
        message_id = _or_spool(
            lambda: inbound_message_store(sms=sms, user_id=user_id, received_at=received_at), reply=ack
        )
    except IntegrityError:
        if not _retry:
            raise
        # The cached sender is stale: the user was deleted (the foreign key refused the row)
        # and nobody invalidated the cache. Forget it and decide again from the database.
        logger.warning("stale phone_lookup entry for %s; retrying from the database", mask_phone(sms.from_number))
        sender_forget(number=sms.from_number)
        return _receive(sms, received_at=received_at, _retry=False)
    if message_id is None:
        return IntakeResult(Outcome.DUPLICATE, ack)
    return IntakeResult(Outcome.ACCEPTED, ack)


# The stored outcome of a keyword delivery: "keyword_opted_out", "keyword_opted_in", "keyword_help".
KEYWORD_OUTCOME_PREFIX = "keyword_"
_KEYWORD_OUTCOMES = {Keyword.OPT_OUT: Outcome.OPTED_OUT, Keyword.OPT_IN: Outcome.OPTED_IN, Keyword.HELP: Outcome.HELP}


def _keyword(
    sms: InboundSms, keyword: Keyword, state: SenderState, *, received_at: datetime, replies: bool
) -> IntakeResult:
    """STOP, START or HELP, acted on once per MessageSid: the delivery is stored (``processed``,
    never handed to a worker), so a captured signed START replayed after a STOP changes nothing.
    Our HELP and START replies go at most once per number per SMS_INSTRUCTIONS_INTERVAL."""
    outcome = _KEYWORD_OUTCOMES[keyword]

    def record_and_act() -> bool:
        with transaction.atomic():
            _, created = InboundMessage.objects.get_or_create(
                message_sid=sms.message_sid,
                defaults={
                    "user_id": state.user_id,
                    "from_number": sms.from_number,
                    "to_number": sms.to_number,
                    "body": sms.body,
                    "status": MessageStatus.PROCESSED,
                    "outcome": KEYWORD_OUTCOME_PREFIX + outcome.value,
                    "received_at": received_at,
                    "processed_at": timezone.now(),
                },
            )
            if created and keyword is not Keyword.HELP:
                word = (sms.body.strip().upper() or sms.opt_out_type)[:16]
                opted_out = keyword is Keyword.OPT_OUT
                phone_number_opt_out_set(number=sms.from_number, opted_out=opted_out, keyword=word if opted_out else "")
            return created

    reply = None
    if replies and keyword is Keyword.OPT_IN:
        reply = settings.SMS_OPT_IN_REPLY
    elif replies and keyword is Keyword.HELP and not state.is_opted_out:
        reply = settings.SMS_HELP_REPLY
    if not _or_spool(record_and_act, reply=reply):
        return IntakeResult(Outcome.DUPLICATE)
    if reply is not None and not keyword_reply_claim(number=sms.from_number, outcome=outcome.value):
        reply = None  # told lately (or no record of it: then say nothing, replies are paid)
    return IntakeResult(outcome, reply)


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
    """Link/verify instructions, at most once per number per SMS_INSTRUCTIONS_INTERVAL. Whether
    they went already came with the sender state, so a repeat costs no further round trip."""
    return IntakeResult(outcome, text if instructions_claim(state=state, outcome=outcome.value) else None)


_INSERT_SQL = (
    "INSERT INTO sms_inboundmessage "
    "(message_sid, user_id, from_number, to_number, body, num_media, messaging_service_sid, "
    "status, outcome, error_code, attempts, received_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'accepted', '', 0, %s) "
    "ON CONFLICT (message_sid) DO NOTHING RETURNING id"
)


def inbound_message_store(*, sms: InboundSms, user_id: int | None, received_at: datetime | None = None) -> int | None:
    """Store the message and its media in one transaction: the row is the outbox the relay reads.

    Returns the new id, or None when the MessageSid was already stored: the unique index
    decides, so concurrent deliveries on different workers store and process it once.
    """
    received = connection.ops.adapt_datetimefield_value(received_at or timezone.now())
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
                    sms.messaging_service_sid,
                    MessageStatus.RECEIVED.value,
                    received,
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
    return message_id
