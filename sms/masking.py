"""Masking of phone numbers for logs and the admin: only the last 4 digits stay readable."""

from __future__ import annotations


def mask_phone(number: str | None) -> str:
    """``+14155550123`` -> ``***0123``. Short or empty input never leaks more than 4 digits."""
    if not number:
        return "***"
    digits = [c for c in number if c.isdigit()]
    if len(digits) <= 4:
        return "***"
    return "***" + "".join(digits[-4:])
