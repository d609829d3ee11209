"""Typed errors of the SMS domain. Each knows the HTTP status (or reply) it maps to."""

from __future__ import annotations


class SmsError(Exception):
    """Base of every domain error raised by sms services."""

    status_code: int = 400
    code: str = "error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        if code is not None:
            self.code = code
