"""Phone number normalisation: whatever people type -> E.164, with the ``phonenumbers`` library."""

from __future__ import annotations

import phonenumbers
from django.conf import settings

from sms.exceptions import InvalidPhoneNumber


def phone_number_normalize(raw: str, *, region: str | None = None) -> str:
    """``"(415) 555-0100"`` -> ``"+14155550100"``; numbers without a country code are read in
    ``SMS_DEFAULT_REGION``. Raises InvalidPhoneNumber for anything that is not a valid number."""
    text = (raw or "").strip()
    if not text or len(text) > 40:
        raise InvalidPhoneNumber()
    try:
        parsed = phonenumbers.parse(text, region or settings.SMS_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber() from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
