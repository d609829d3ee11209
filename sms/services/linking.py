"""Phone linking and verification (README.md, "API for users").

A user links the number they text from, we text it a 6-digit code, they type it back. The
rules that protect users and our Twilio bill live here:

- codes are uniformly random (``secrets``), stored only as an HMAC (SECRET_KEY), compared in
  constant time, valid ``SMS_VERIFICATION_CODE_TTL`` seconds, void after
  ``SMS_VERIFICATION_MAX_ATTEMPTS`` wrong tries;
- resends: a cooldown per number, and caps per number per hour and per user per day, counted in
  the ``VerificationCodeSend`` log under row/advisory locks, so they hold across processes;
- a number verified by someone else is taken; a claim by someone else blocks until its code
  expires; one number per user.

Every change invalidates the ``phone_lookup`` and ``verification_status`` caches after commit so
the webhook sees it at once. The code is texted by a Celery task enqueued on commit; the task
receives it sealed (:func:`verification_code_seal`), so the broker and the worker's logs never
hold a usable code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from performance import metrics
from performance.caches import day_counter_add, day_counter_get
from sms.clients.twilio import (
    TwilioInvalidNumberError,
    TwilioPermanentError,
    TwilioRecipientOptedOutError,
    TwilioTransientError,
)
from sms.exceptions import (
    InvalidPhoneNumber,
    PhoneNumberAlreadyLinked,
    PhoneNumberAlreadyVerified,
    PhoneNumberClaimed,
    PhoneNumberNotLinked,
    PhoneNumberOptedOut,
    PhoneNumberTaken,
    VerificationFailed,
    VerificationThrottled,
)
from sms.masking import mask_phone
from sms.models import OutboundPurpose, PhoneNumber, SendStatus, VerificationCodeSend
from sms.numbers import phone_number_normalize
from sms.ratelimit import rate_limit_hit
from sms.senders import number_is_opted_out, sender_forget, verification_status_cache
from sms.services.opt_out import phone_number_opt_out_set
from sms.services.outbound import outbound_sms_send

logger = logging.getLogger(__name__)

CODE_DIGITS = 6


def verification_code_generate() -> str:
    """Six digits, uniformly random over 000000-999999."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def verification_code_hash(*, number: str, code: str) -> str:
    """HMAC-SHA256 of the code, bound to the number (a code for one number proves nothing for another)."""
    return salted_hmac("sms.phone-verification", f"{number}:{code}", algorithm="sha256").hexdigest()


def _seal_key() -> AESGCM:
    key = salted_hmac("sms.verification-code-seal", "aes-256-gcm", algorithm="sha256").digest()
    return AESGCM(key)


def verification_code_seal(*, phone_number_id: int, code: str) -> str:
    """``code`` encrypted (AES-256-GCM, key derived from SECRET_KEY) and bound to the row: what
    the send task receives instead of the code, so a reader of the broker (Redis) or of a task's
    logged arguments learns nothing it could type back."""
    nonce = secrets.token_bytes(12)
    sealed = _seal_key().encrypt(nonce, code.encode(), str(phone_number_id).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def verification_code_unseal(*, phone_number_id: int, sealed: str) -> str | None:
    """The code sealed for this row, or None for anything else (forged, tampered, another row's,
    sealed under another SECRET_KEY)."""
    try:
        data = base64.urlsafe_b64decode(sealed.encode())
        return _seal_key().decrypt(data[:12], data[12:], str(phone_number_id).encode()).decode()
    except (InvalidTag, ValueError, binascii.Error, UnicodeError):
        return None


def _lock_number(number: str) -> None:
    """Serialise every link attempt for ``number`` across processes until the transaction ends.

    The number may have no row yet (first claim), so a row lock cannot do it; PostgreSQL's
    transaction-level advisory lock can. (SQLite, the embedded default, serialises writers anyway.)
    """
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(number.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _lock_user(user: AbstractBaseUser) -> None:
    """Serialise a user's link attempts (the per-user daily cap) across processes."""
    type(user)._default_manager.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def _link_request_count(*, user_id: int) -> None:
    """Count every link request of a user, whatever its answer, so taken/claimed/opted-out
    answers cannot be used to probe numbers beyond SMS_LINK_REQUESTS_PER_USER_PER_HOUR."""
    result = rate_limit_hit(
        number=f"link:{user_id}", member=uuid.uuid4().hex, limit=settings.SMS_LINK_REQUESTS_PER_USER_PER_HOUR
    )
    if not result.is_allowed:
        raise VerificationThrottled(
            f"At most {settings.SMS_LINK_REQUESTS_PER_USER_PER_HOUR} link requests per hour.",
            code="link_hourly_cap",
            retry_after=math.ceil(result.retry_after),
        )


def _global_send_budget_take() -> None:
    """One code from the service's daily budget (SMS_VERIFICATION_GLOBAL_DAILY_LIMIT), so an
    SMS-pumping run over many accounts stops at a known cost. Without Redis: not counted."""
    limit = settings.SMS_VERIFICATION_GLOBAL_DAILY_LIMIT
    if limit <= 0:
        return
    sent = day_counter_add("verification-sends")
    if sent is not None and sent > limit:
        day_counter_add("verification-sends", -1)
        metrics.VERIFICATION_BUDGET_EXHAUSTED.inc()
        logger.error("verification codes: the daily budget of %s is used up; refusing more today", limit)
        raise VerificationThrottled(
            "We can't send more codes today; try again tomorrow.", code="service_daily_cap", retry_after=3600
        )


def _retry_after(oldest: datetime, window: timedelta, now: datetime) -> int:
    return int((oldest + window - now).total_seconds()) + 1


def _check_send_limits(*, user_id: int, number: str, now: datetime) -> None:
    """Raise VerificationThrottled when another code may not be sent yet. Call under the locks."""
    cooldown = timedelta(seconds=settings.SMS_VERIFICATION_RESEND_COOLDOWN)
    hour = timedelta(hours=1)
    day = timedelta(days=1)
    number_sends = list(
        VerificationCodeSend.objects.filter(number=number, created_at__gt=now - hour)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if number_sends and cooldown and number_sends[-1] > now - cooldown:
        raise VerificationThrottled(
            "A code was just sent to this number; wait before asking for another.",
            code="resend_cooldown",
            retry_after=_retry_after(number_sends[-1], cooldown, now),
        )
    per_hour = settings.SMS_VERIFICATION_MAX_PER_NUMBER_PER_HOUR
    if len(number_sends) >= per_hour:
        raise VerificationThrottled(
            f"At most {per_hour} codes per number per hour.",
            code="number_hourly_cap",
            retry_after=_retry_after(number_sends[-per_hour], hour, now),
        )
    per_day = settings.SMS_VERIFICATION_MAX_PER_USER_PER_DAY
    user_sends = list(
        VerificationCodeSend.objects.filter(user_id=user_id, created_at__gt=now - day)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:per_day]
    )
    if len(user_sends) >= per_day:
        raise VerificationThrottled(
            f"At most {per_day} codes per account per day.",
            code="user_daily_cap",
            retry_after=_retry_after(user_sends[-1], day, now),
        )


@dataclass(frozen=True)
class LinkResult:
    phone_number: PhoneNumber
    code_expires_at: datetime


def phone_number_link(*, user: AbstractBaseUser, number: str) -> LinkResult:
    """Claim ``number`` (any format; normalised to E.164) for ``user`` and text it a new code.

    Posting the same number again is a resend. Raises InvalidPhoneNumber, PhoneNumberTaken,
    PhoneNumberClaimed, PhoneNumberAlreadyLinked, PhoneNumberAlreadyVerified,
    PhoneNumberOptedOut or VerificationThrottled.
    """
    _link_request_count(user_id=int(user.pk))
    number = phone_number_normalize(number)
    parsed = phonenumbers.parse(number)
    region = phonenumbers.region_code_for_number(parsed)
    if settings.SMS_VERIFICATION_ALLOWED_COUNTRIES and region not in settings.SMS_VERIFICATION_ALLOWED_COUNTRIES:
        raise InvalidPhoneNumber("We can't text numbers in that country.", code="country_not_allowed")
    if number == settings.TWILIO_PHONE_NUMBER:
        raise InvalidPhoneNumber("That is our own number; link the number you text from.", code="service_number")
    number_type = phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(parsed))
    if number_type not in settings.SMS_VERIFICATION_ALLOWED_NUMBER_TYPES:
        # Premium-rate and shared-cost numbers are how SMS pumping earns; landlines, toll-free and
        # pagers cannot read a code anyway.
        raise InvalidPhoneNumber("We can only text mobile numbers.", code="number_type_not_allowed")
    if number_is_opted_out(number=number):
        raise PhoneNumberOptedOut()

    code = verification_code_generate()
    dropped: list[PhoneNumber] = []
    with transaction.atomic():
        _lock_user(user)
        _lock_number(number)
        now = timezone.now()
        existing = PhoneNumber.objects.select_for_update().filter(number=number).first()
        if existing is not None and existing.user_id != user.pk:
            if existing.is_verified:
                raise PhoneNumberTaken()
            if existing.code_expires_at is not None and existing.code_expires_at > now:
                raise PhoneNumberClaimed()
            if existing.is_opted_out:  # the opt-out belongs to the number: keep the row
                raise PhoneNumberOptedOut()
            dropped.append(existing)  # an abandoned claim stops blocking once its code expired
        own = PhoneNumber.objects.select_for_update().filter(user_id=user.pk).first()
        if own is not None and own.number != number:
            if own.is_verified:
                raise PhoneNumberAlreadyLinked()
            dropped.append(own)  # an unverified number is replaced by the new one
        elif own is not None and own.is_verified:
            raise PhoneNumberAlreadyVerified()
        elif own is not None and own.is_opted_out:
            raise PhoneNumberOptedOut()

        _check_send_limits(user_id=user.pk, number=number, now=now)
        _global_send_budget_take()

        if dropped:
            PhoneNumber.objects.filter(pk__in=[p.pk for p in dropped]).delete()
        expires_at = now + timedelta(seconds=settings.SMS_VERIFICATION_CODE_TTL)
        fields = {
            "number": number,
            "is_verified": False,
            "verified_at": None,
            "verification_code_hash": verification_code_hash(number=number, code=code),
            "code_expires_at": expires_at,
            "verification_attempts": 0,
            "last_sent_at": now,
            "last_send_status": SendStatus.PENDING,
            "last_send_error": "",
            "last_send_sid": "",  # the old code's receipts must not speak for the new one
        }
        if own is not None and own.number == number:
            for name, value in fields.items():
                setattr(own, name, value)
            own.save(update_fields=list(fields))
            phone = own
        else:
            phone = PhoneNumber.objects.create(user_id=user.pk, **fields)
        VerificationCodeSend.objects.create(user_id=user.pk, number=number, created_at=now)

        for old in dropped:
            transaction.on_commit(partial(sender_forget, number=old.number, user_id=old.user_id))
        transaction.on_commit(lambda: sender_forget(number=number, user_id=user.pk))
        transaction.on_commit(lambda: _enqueue_code(phone.pk, code))

    logger.info("verification code issued for %s (user %s)", mask_phone(number), user.pk)
    return LinkResult(phone_number=phone, code_expires_at=expires_at)


def _enqueue_code(phone_number_id: int, code: str) -> None:
    from sms.tasks import verification_code_send_task

    verification_code_send_task.delay(
        phone_number_id, verification_code_seal(phone_number_id=phone_number_id, code=code)
    )


def _send_status_set(phone_number_id: int, code_hash: str, status: str, error: str = "", sid: str = "") -> None:
    """Record the outcome on the row, unless a newer code replaced this one meanwhile. ``sid``
    is what the code's status callbacks name (``sms.services.outbound``)."""
    updated = PhoneNumber.objects.filter(pk=phone_number_id, verification_code_hash=code_hash).update(
        last_send_status=status, last_send_error=error, last_send_sid=sid
    )
    if updated:
        user_id = PhoneNumber.objects.filter(pk=phone_number_id).values_list("user_id", flat=True).first()
        if user_id is not None:
            verification_status_cache().delete(str(user_id))


def verification_code_send(*, phone_number_id: int, sealed_code: str, may_retry: bool) -> None:
    """Text the code sealed in ``sealed_code`` to the number it was issued for (the send task).

    Skips quietly when the seal does not open, the row is gone (unlinked, account deleted),
    already verified, or the code was superseded by a newer one. Never texts an opted-out number.
    A Twilio outage (the HTTP client has already retried quickly) is raised for the task to
    retry while ``may_retry``, else recorded as failed; permanent errors are recorded for the
    GET to show, and 21610 marks the number opted out.
    """
    code = verification_code_unseal(phone_number_id=phone_number_id, sealed=sealed_code)
    if code is None:
        logger.warning("verification send %s: the sealed code does not open; not sending", phone_number_id)
        return
    phone = PhoneNumber.objects.filter(pk=phone_number_id).first()
    if phone is None or phone.is_verified:
        return
    code_hash = verification_code_hash(number=phone.number, code=code)
    if phone.verification_code_hash != code_hash:
        return  # a newer code was issued, or this one was voided
    if phone.is_opted_out or number_is_opted_out(number=phone.number):
        metrics.OUTBOUND_SMS.labels("skipped").inc()
        _send_status_set(phone.pk, code_hash, SendStatus.OPTED_OUT)
        return

    minutes = max(1, settings.SMS_VERIFICATION_CODE_TTL // 60)
    body = f"Your smsgateway verification code is {code}. It expires in {minutes} minutes."
    try:
        sent = outbound_sms_send(
            to=phone.number, body=body, purpose=OutboundPurpose.VERIFICATION, user_id=phone.user_id
        )
    except TwilioTransientError:
        if may_retry:
            raise
        _send_status_set(phone.pk, code_hash, SendStatus.FAILED, "twilio_unavailable")
        return
    except TwilioRecipientOptedOutError:
        phone_number_opt_out_set(number=phone.number, opted_out=True)
        _send_status_set(phone.pk, code_hash, SendStatus.OPTED_OUT, "twilio_21610")
        return
    except TwilioInvalidNumberError as exc:
        _send_status_set(phone.pk, code_hash, SendStatus.FAILED, f"invalid_number_{exc.code}")
        return
    except TwilioPermanentError as exc:
        _send_status_set(phone.pk, code_hash, SendStatus.FAILED, f"twilio_{exc.code or exc.status}")
        return
    _send_status_set(phone.pk, code_hash, SendStatus.SENT, sid=sent.message_sid or "")
    logger.info("verification code sent to %s", mask_phone(phone.number))


def phone_number_verify(*, user: AbstractBaseUser, code: str) -> PhoneNumber:
    """Check ``code`` against the user's pending number; on success the number is verified.

    Raises PhoneNumberNotLinked, or VerificationFailed with code ``code_invalid`` (with the
    attempts left), ``code_expired``, ``code_voided`` (too many attempts, or none pending).
    A wrong code counts even though the request fails; the count is kept under a row lock so
    parallel guesses cannot exceed the limit.
    """
    max_attempts = settings.SMS_VERIFICATION_MAX_ATTEMPTS
    failure: VerificationFailed | None = None
    with transaction.atomic():
        phone = PhoneNumber.objects.select_for_update().filter(user_id=user.pk).first()
        if phone is None:
            raise PhoneNumberNotLinked()
        if phone.is_verified:
            return phone
        now = timezone.now()
        if not phone.verification_code_hash or phone.verification_attempts >= max_attempts:
            raise VerificationFailed("No valid code: ask for a new one.", code="code_voided", attempts_remaining=0)
        if (
            day_counter_get(f"verification-failures:{phone.number}")
            >= settings.SMS_VERIFICATION_MAX_FAILURES_PER_NUMBER_PER_DAY
        ):
            # Wrong codes count per number per day across resends: new codes do not buy new guesses.
            raise VerificationFailed(
                "Too many wrong codes for this number today: try again tomorrow.",
                code="code_voided",
                attempts_remaining=0,
            )
        if phone.code_expires_at is None or phone.code_expires_at <= now:
            raise VerificationFailed("The code has expired: ask for a new one.", code="code_expired")
        expected = phone.verification_code_hash
        given = verification_code_hash(number=phone.number, code=str(code).strip())
        if hmac.compare_digest(expected, given):
            phone.is_verified = True
            phone.verified_at = now
            phone.verification_code_hash = ""
            phone.code_expires_at = None
            phone.verification_attempts = 0
            phone.save(
                update_fields=[
                    "is_verified",
                    "verified_at",
                    "verification_code_hash",
                    "code_expires_at",
                    "verification_attempts",
                ]
            )
            number, user_id = phone.number, phone.user_id
            transaction.on_commit(lambda: sender_forget(number=number, user_id=user_id))
            logger.info("number %s verified (user %s)", mask_phone(phone.number), user.pk)
            return phone
        phone.verification_attempts += 1
        day_counter_add(f"verification-failures:{phone.number}")
        remaining = max_attempts - phone.verification_attempts
        update = ["verification_attempts"]
        if remaining <= 0:
            phone.verification_code_hash = ""  # void: only a new code can verify now
            update.append("verification_code_hash")
            failure = VerificationFailed(
                "Too many wrong codes: ask for a new one.", code="code_voided", attempts_remaining=0
            )
        else:
            failure = VerificationFailed("The code is wrong.", code="code_invalid", attempts_remaining=remaining)
        phone.save(update_fields=update)
    logger.info("wrong verification code for %s (%s left)", mask_phone(phone.number), max(remaining, 0))
    raise failure


def phone_number_unlink(*, user: AbstractBaseUser) -> None:
    """Remove the user's number; the webhook treats it as unknown at once."""
    with transaction.atomic():
        phone = PhoneNumber.objects.select_for_update().filter(user_id=user.pk).first()
        if phone is None:
            raise PhoneNumberNotLinked()
        number, user_id = phone.number, phone.user_id
        phone.delete()
        transaction.on_commit(lambda: sender_forget(number=number, user_id=user_id))
    logger.info("number %s unlinked (user %s)", mask_phone(number), user_id)
