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
    """Base of every domain error raised by sms services.

    A subclass declares what sets it apart in its class line, and its docstring is the message
    it carries unless raised with another: ``class PhoneNumberTaken(SmsError, code="number_taken",
    status_code=409)``.
    """

    status_code: int = 400
    code: str = "error"
    is_transient: bool = False

    def __init_subclass__(
        cls, *, code: str | None = None, status_code: int | None = None, is_transient: bool | None = None
    ) -> None:
        super().__init_subclass__()
        if code is not None:
            cls.code = code
        if status_code is not None:
            cls.status_code = status_code
        if is_transient is not None:
            cls.is_transient = is_transient

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        if code is not None:
            self.code = code


# --- Phone linking and verification -----------------------------------------------------


class InvalidPhoneNumber(SmsError, code="invalid_phone_number"):
    """That is not a valid phone number (include the country code, e.g. +44...)."""


class PhoneNumberTaken(SmsError, code="number_taken", status_code=409):
    """This number is already verified by another account."""


class PhoneNumberClaimed(SmsError, code="number_claimed", status_code=409):
    """Another account is verifying this number right now; try again once its code has expired."""


class PhoneNumberAlreadyLinked(SmsError, code="already_linked", status_code=409):
    """Your account already has a verified number; unlink it first."""


class PhoneNumberAlreadyVerified(SmsError, code="already_verified", status_code=409):
    """This number is already verified on your account."""


class PhoneNumberOptedOut(SmsError, code="number_opted_out", status_code=409):
    """This number replied STOP, so we cannot text it; text START to our number first."""


class PhoneNumberNotLinked(SmsError, code="not_linked", status_code=404):
    """Your account has no phone number."""


class VerificationThrottled(SmsError, code="throttled", status_code=429):
    """Too many verification codes; wait before asking for another."""

    def __init__(self, message: str = "", *, code: str | None = None, retry_after: int) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class VerificationFailed(SmsError, code="code_invalid"):
    """The code is wrong."""

    def __init__(self, message: str = "", *, code: str | None = None, attempts_remaining: int | None = None) -> None:
        super().__init__(message, code=code)
        self.attempts_remaining = attempts_remaining


# --- Enrichment review ------------------------------------------------------------------


class EnrichmentItemLocked(SmsError, code="item_applied", status_code=409):
    """This item has already been applied and can no longer change."""
