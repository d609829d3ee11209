"""Contacts in images: QR codes (``zxing-cpp``) holding a vCard, a MECARD or a ``tel:``, and
business cards read by Tesseract OCR (``pytesseract``, the Debian ``tesseract-ocr`` binary).

Both run on the worker, so both are bounded: an image over ``MAX_PIXELS`` is not read, it is
shrunk to ``OCR_MAX_SIDE`` pixels on its longer side first, and Tesseract is killed after
``SMS_OCR_TIMEOUT_SECONDS``. When a tool is missing (no binary at ``SMS_TESSERACT_CMD``, no
``zxingcpp`` module) its step is skipped with one log line per process; an empty
``SMS_TESSERACT_CMD`` turns OCR off.

OCR text is a business card when it has a line that reads as a person's name and a phone
number or an email address; the organization is a line with a company suffix ("Inc", "Ltd",
"GmbH"…), else the first other line without digits that is no job title.
"""

from __future__ import annotations

import logging
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import phonenumbers
from django.conf import settings

from sms.extraction.lexicon import english_words, first_names, fold
from sms.extraction.vcards import parse_vcards

logger = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000
OCR_MAX_SIDE = 2000
EMAIL = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
COMPANY = re.compile(
    r"\b(?:inc|llc|ltd|limited|gmbh|ag|sa|sas|bv|plc|co|corp|corporation|company|group|partners|studio|labs?)\b\.?",
    re.IGNORECASE,
)
TITLE_WORDS = frozenset(
    "ceo cto cfo coo founder co-founder director manager engineer designer developer consultant partner "
    "president vice vp head lead senior junior officer associate analyst architect sales marketing "
    "owner chef doctor dr attorney lawyer agent realtor specialist coordinator assistant executive".split()
)
NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'\u2019.-]*(?:[-'\u2019][^\W\d_]+)*\.?$")


def image_contacts(path: Path, *, region: str) -> list[dict[str, Any]]:
    """Contacts from the QR codes in the image at ``path``, else from the business card it shows."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                logger.info("image %s x %s is too large to read for a card", opened.width, opened.height)
                return []
            image = opened.convert("RGB")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return []
    contacts = qr_contacts(image)
    if contacts:
        return contacts
    text = ocr_text(image)
    card = business_card(text, region=region) if text else None
    return [card] if card else []


@cache
def _zxing_missing_logged() -> None:
    logger.warning("QR codes are not read: the zxingcpp module is not installed")


def qr_contacts(image: Any) -> list[dict[str, Any]]:
    try:
        import zxingcpp
    except ImportError:
        _zxing_missing_logged()
        return []
    contacts: list[dict[str, Any]] = []
    for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):  # type: ignore[arg-type]
        contacts.extend(qr_payload_contacts(barcode.text))
    return contacts


def qr_payload_contacts(payload: str) -> list[dict[str, Any]]:
    """Contacts in a QR code's text: a vCard, a MECARD or a ``tel:`` URI."""
    text = payload.strip()
    if text.upper().startswith("BEGIN:VCARD"):
        return parse_vcards(text.encode("utf-8"), limit=settings.SMS_MAX_CONTACTS_PER_VCARD)
    if text.upper().startswith("MECARD:"):
        fields: dict[str, list[str]] = {}
        for part in re.split(r"(?<!\\);", text[7:]):
            key, _, value = part.partition(":")
            if value:
                fields.setdefault(key.upper(), []).append(value.replace("\\;", ";").replace("\\,", ",").strip())
        raw_name = (fields.get("N") or [""])[0]
        family, _, given = raw_name.partition(",")
        name = f"{given.strip()} {family.strip()}".strip() if given else raw_name
        phones, emails = fields.get("TEL", []), fields.get("EMAIL", [])
        name = name or (phones or emails or [""])[0]
        if not name:
            return []
        return [{"name": name, "phones": phones, "emails": emails, "organization": (fields.get("ORG") or [""])[0]}]
    if text.lower().startswith("tel:"):
        number = text[4:].split(";", 1)[0].strip()
        return [{"name": number, "phones": [number], "emails": [], "organization": ""}] if number else []
    return []


@cache
def _tesseract_missing_logged(command: str) -> None:
    logger.warning("business cards are not read: no tesseract binary at %r (SMS_TESSERACT_CMD)", command)


def ocr_text(image: Any) -> str:
    """The image's text by Tesseract ("" when OCR is off, missing, timed out or failed)."""
    command = settings.SMS_TESSERACT_CMD
    if not command:
        return ""
    if shutil.which(command) is None:
        _tesseract_missing_logged(command)
        return ""
    import pytesseract

    image = image.copy()
    image.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE))
    # pytesseract reads the command from module state; every thread sets the same value.
    pytesseract.pytesseract.tesseract_cmd = command
    try:
        text: str = pytesseract.image_to_string(
            image.convert("L"), lang="eng", timeout=settings.SMS_OCR_TIMEOUT_SECONDS
        )
    except RuntimeError:  # pytesseract's timeout
        logger.info("OCR gave up after %s s", settings.SMS_OCR_TIMEOUT_SECONDS)
        return ""
    except pytesseract.TesseractNotFoundError:
        _tesseract_missing_logged(command)
        return ""
    except pytesseract.TesseractError as exc:
        logger.info("OCR failed: status %s", exc.status)
        return ""
    return text


def business_card(text: str, *, region: str) -> dict[str, Any] | None:
    """A contact from a business card's OCR text, or None when it does not read as a card."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    emails = list(dict.fromkeys(match.group() for line in lines for match in EMAIL.finditer(line)))
    phones: list[str] = []
    for line in lines:
        if EMAIL.search(line):
            continue
        for match in phonenumbers.PhoneNumberMatcher(line, region, leniency=phonenumbers.Leniency.VALID):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in phones:
                phones.append(e164)
    if not phones and not emails:
        return None
    name = next((line for line in lines if _is_name_line(line)), "")
    if not name:
        return None
    organization = next((line for line in lines if COMPANY.search(line) and not _has_contact(line)), "")
    if not organization:
        organization = next(
            (line for line in lines if line != name and _is_plain_line(line) and not _is_title_line(line)), ""
        )
    return {"name": name, "phones": phones, "emails": emails, "organization": organization}


def _has_contact(line: str) -> bool:
    return bool(EMAIL.search(line) or re.search(r"\d{3}", line) or "www." in line.lower())


def _is_plain_line(line: str) -> bool:
    return not _has_contact(line) and bool(re.search(r"[^\W\d_]{2}", line))


def _is_title_line(line: str) -> bool:
    return any(fold(word.strip(",.&")) in TITLE_WORDS for word in line.split())


def _is_name_line(line: str) -> bool:
    words = line.split()
    if not 2 <= len(words) <= 4 or _has_contact(line) or COMPANY.search(line) or _is_title_line(line):
        return False
    if not all(NAME_WORD.match(word) and word[0].isupper() for word in words):
        return False
    # A known first name, or words that are no English words (a name the list lacks).
    first = fold(words[0].rstrip("."))
    return first in first_names() or not any(fold(word) in english_words() for word in words)
