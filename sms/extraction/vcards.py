"""vCard parsing through ``vobject``: the contacts (name, phones, emails, organization) of
every card in a file, versions 2.1, 3.0 and 4.0.

What phones and address books really send needs work before ``vobject`` sees it:

- the file's text encoding: UTF-8, else the ``CHARSET`` a card declares, else Windows-1252
  (Outlook and old Android exports of Latin-1 names, often with no charset at all);
- version 2.1 quoted-printable values (Android): their soft line breaks (``=`` at a line's
  end) are joined and the value decoded here, in its declared charset, since ``vobject``
  leaves ``J=C3=BCrgen`` as it is;
- each card is parsed on its own, so a broken card is skipped and the rest of the file kept.
"""

from __future__ import annotations

import logging
import quopri
import re
from typing import Any

logger = logging.getLogger(__name__)

MAX_VCARD_BYTES = 256 * 1024

CARD = re.compile(r"^BEGIN:VCARD\s*$.*?^END:VCARD\s*$", re.IGNORECASE | re.MULTILINE | re.DOTALL)
CHARSET = re.compile(rb";CHARSET=([\w-]+)", re.IGNORECASE)
QP_PARAM = re.compile(r";(?:ENCODING=)?QUOTED-PRINTABLE", re.IGNORECASE)
CHARSET_PARAM = re.compile(r";CHARSET=([\w-]+)", re.IGNORECASE)


def parse_vcards(data: bytes, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Contacts of the cards in ``data``, at most ``limit`` (the rest are not parsed)."""
    text = _decode(data)
    contacts: list[dict[str, Any]] = []
    skipped = 0
    for match in CARD.finditer(text):
        if limit is not None and len(contacts) >= limit:
            break
        contact = _contact(_qp_decoded(match.group()))
        if contact is None:
            skipped += 1
        elif contact["name"]:
            contacts.append(contact)
    if skipped:
        logger.info("vCard file: %s card(s) could not be read and were skipped", skipped)
    return contacts


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = CHARSET.search(data)
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode("cp1252", errors="replace")


def _qp_decoded(card: str) -> str:
    """The card with its quoted-printable values decoded and their soft breaks joined."""
    lines = card.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        name, colon, value = line.partition(":")
        if colon and QP_PARAM.search(name):
            while value.endswith("=") and i + 1 < len(lines):
                i += 1
                value = value[:-1] + lines[i].lstrip(" \t")
            charset_match = CHARSET_PARAM.search(name)
            charset = charset_match.group(1) if charset_match else "utf-8"
            raw = quopri.decodestring(value.encode("latin-1", errors="replace"))
            try:
                decoded = raw.decode(charset)
            except (LookupError, UnicodeDecodeError):
                decoded = raw.decode("cp1252", errors="replace")
            # Back to one vCard line: newlines escaped, separators kept as they were.
            decoded = decoded.replace("\r\n", "\\n").replace("\n", "\\n")
            name = CHARSET_PARAM.sub("", QP_PARAM.sub("", name))
            line = f"{name}:{decoded}"
        out.append(line)
        i += 1
    return "\r\n".join(out) + "\r\n"


def _contact(card: str) -> dict[str, Any] | None:
    import vobject

    try:
        parsed = vobject.readOne(card)
    except Exception:  # vobject raises many kinds of error on a malformed card
        return None
    contents = parsed.contents
    name = _text(contents["fn"][0].value) if "fn" in contents else ""
    if not name and "n" in contents:
        n = contents["n"][0].value
        given = _text(getattr(n, "given", ""))
        family = _text(getattr(n, "family", ""))
        name = " ".join(part for part in (given, family) if part)
    phones = [_phone(line.value) for line in contents.get("tel", []) if _phone(line.value)]
    emails = [_text(line.value) for line in contents.get("email", []) if _text(line.value)]
    organization = ""
    if "org" in contents:
        org = contents["org"][0].value
        organization = _text(org[0] if isinstance(org, list) and org else org)
    if not name:
        name = (emails or phones or [""])[0]
    return {"name": name, "phones": phones, "emails": emails, "organization": organization}


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = " ".join(str(part) for part in value if part)
    return " ".join(str(value or "").split())


def _phone(value: Any) -> str:
    return _text(value).removeprefix("tel:").strip()
