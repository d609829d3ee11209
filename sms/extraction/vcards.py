"""vCard parsing: contacts (name, phones, emails, organization) of every card in a file."""

from __future__ import annotations

import re
from typing import Any

MAX_VCARD_BYTES = 256 * 1024


def parse_vcards(data: bytes) -> list[dict[str, Any]]:
    """Contacts (name, phones, emails) of every vCard in ``data`` (versions 2.1, 3.0, 4.0)."""
    text = data.decode("utf-8", errors="replace")
    # Unfold continuation lines (RFC 6350 §3.2).
    text = re.sub(r"\r?\n[ \t]", "", text)
    contacts: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, _, value = line.partition(":")
        prop = name.split(";", 1)[0].split(".")[-1].upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            current = {"name": "", "phones": [], "emails": [], "organization": ""}
        elif prop == "END" and value.strip().upper() == "VCARD" and current is not None:
            if not current["name"]:
                current["name"] = current.pop("_n", "") or (current["emails"] or current["phones"] or [""])[0]
            current.pop("_n", None)
            if current["name"]:
                contacts.append(current)
            current = None
        elif current is None:
            continue
        elif prop == "FN":
            current["name"] = _unescape(value)
        elif prop == "N":
            parts = [_unescape(p) for p in value.split(";")]
            current["_n"] = " ".join(p for p in (parts[1:2] + parts[0:1]) if p)
        elif prop == "TEL":
            phone = value.removeprefix("tel:").strip()
            if phone:
                current["phones"].append(phone)
        elif prop == "EMAIL":
            if value.strip():
                current["emails"].append(value.strip())
        elif prop == "ORG":
            current["organization"] = _unescape(value.split(";")[0])
    return contacts


def _unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\;", ";").replace("\\n", " ").replace("\\\\", "\\").strip()
