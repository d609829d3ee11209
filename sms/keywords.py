"""Carrier-standard SMS keywords (whole body, case-insensitive, trimmed)."""

from __future__ import annotations

import enum


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


# Advanced Opt-Out's OptOutType: the keyword class Twilio recognised, in any language or custom word.
OPT_OUT_TYPE_KEYWORDS = {"STOP": Keyword.OPT_OUT, "START": Keyword.OPT_IN, "HELP": Keyword.HELP}


def keyword_of(*, body: str, opt_out_type: str = "") -> Keyword | None:
    """The keyword a message is. Twilio's ``OptOutType``, when present, is authoritative (a
    translated or custom keyword it recognised); otherwise the body is matched against our lists."""
    if opt_out_type:
        return OPT_OUT_TYPE_KEYWORDS.get(opt_out_type.upper())
    return keyword_match(body)


def keyword_match(body: str) -> Keyword | None:
    """The keyword ``body`` is, or None. "stop " is STOP; "please stop" is a note."""
    word = body.strip().upper()
    if len(word) > 11:  # longest keyword: UNSUBSCRIBE
        return None
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    return None
