"""Typed errors of the SMS domain, under one base.

Every error a service, a client or the pipeline raises on purpose is an :class:`SmsError`: it
carries a machine-readable ``code``, the HTTP ``status_code`` the API answers with (the DRF
exception handler in ``sms/api/common.py`` maps it), and ``is_transient``, which the processing
pipeline reads to retry or fail for good. Messages name reasons, statuses and hosts, never
message content. Twilio's client errors stay apart (``sms/clients/twilio.py``): their code is
Twilio's numeric error code, and each task handles them by kind.
"""

from __future__ import annotations


class SmsError(Exception):
    """Base of every domain error raised by sms services."""

    status_code: int = 400
    code: str = "error"
    is_transient: bool = False

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        if code is not None:
            self.code = code


# --- Phone linking and verification -----------------------------------------------------


class InvalidPhoneNumber(SmsError):
    """That is not a valid phone number (include the country code, e.g. +44...)."""

    code = "invalid_phone_number"


class PhoneNumberTaken(SmsError):
    """This number is already verified by another account."""

    status_code = 409
    code = "number_taken"


class PhoneNumberClaimed(SmsError):
    """Another account is verifying this number right now; try again once its code has expired."""

    status_code = 409
    code = "number_claimed"


class PhoneNumberAlreadyLinked(SmsError):
    """Your account already has a verified number; unlink it first."""

    status_code = 409
    code = "already_linked"


class PhoneNumberAlreadyVerified(SmsError):
    """This number is already verified on your account."""

    status_code = 409
    code = "already_verified"


class PhoneNumberOptedOut(SmsError):
    """This number replied STOP, so we cannot text it; text START to our number first."""

    status_code = 409
    code = "number_opted_out"


class PhoneNumberNotLinked(SmsError):
    """Your account has no phone number."""

    status_code = 404
    code = "not_linked"


class VerificationThrottled(SmsError):
    """Too many verification codes; wait before asking for another."""

    status_code = 429
    code = "throttled"

    def __init__(self, message: str = "", *, code: str | None = None, retry_after: int) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class VerificationFailed(SmsError):
    """The code is wrong."""

    code = "code_invalid"

    def __init__(self, message: str = "", *, code: str | None = None, attempts_remaining: int | None = None) -> None:
        super().__init__(message, code=code)
        self.attempts_remaining = attempts_remaining


# --- Enrichment review ------------------------------------------------------------------


class EnrichmentItemLocked(SmsError):
    """This item has already been applied and can no longer change."""

    status_code = 409
    code = "item_applied"
