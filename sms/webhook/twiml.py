"""TwiML replies to the messaging webhook."""

from __future__ import annotations

from xml.sax.saxutils import escape

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def twiml_message(text: str | None) -> str:
    """A TwiML document replying ``text``; an empty ``<Response/>`` when there is nothing to say."""
    if not text:
        return EMPTY
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
