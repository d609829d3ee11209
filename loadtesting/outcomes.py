"""How one webhook reply counts in a load test (shared by the locustfile and the report).

A reply is a **success** when it is HTTP 200 and its ``X-SMS-Outcome`` header is one the
webhook answers a well-formed, correctly signed delivery with. ``rate_limited`` is a correct
answer too, but the message was refused: it is its own outcome and is never a success, so a
run whose senders are too few for the offered rate shows it in the success rate, the
outcomes and ``failures_by_reason``. No Django imports: this runs inside locust.
"""

from __future__ import annotations

OUTCOME_HEADER = "X-SMS-Outcome"
RATE_LIMITED = "rate_limited"

# Outcomes that mean "the service handled this delivery as it should".
SUCCESS_OUTCOMES = frozenset(
    {
        "accepted",
        "duplicate",
        "unknown_sender",
        "unverified",
        "opted_out",
        "opted_in",
        "help",
        "spooled",
        "unsupported_channel",
    }
)


def classify(status: int, outcome: str | None) -> str | None:
    """``None`` for a success, else the failure reason recorded for the reply."""
    if status != 200:
        return f"HTTP {status}" if status else "connection error"
    if not outcome:
        return f"no {OUTCOME_HEADER} header"
    if outcome == RATE_LIMITED:
        return RATE_LIMITED
    if outcome not in SUCCESS_OUTCOMES:
        return f"unexpected outcome {outcome}"
    return None
