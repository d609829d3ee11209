"""``manage.py sms_simulate``: text the gateway from your terminal.

Builds the form Twilio posts for an inbound SMS/MMS (every usual parameter), signs it with the
account's auth token exactly as Twilio does, posts it and prints the status, the
X-SMS-Outcome header and the reply text.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any
from xml.etree import ElementTree

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devkit.payloads import inbound_payload, twilio_signature


def _media_arg(value: str) -> tuple[str, str]:
    url, sep, content_type = value.rpartition(":")
    if not sep or "/" not in content_type or not url.startswith(("http://", "https://")):
        raise CommandError(f"--media wants URL:TYPE (e.g. https://example.com/a.jpg:image/jpeg), got {value!r}")
    return url, content_type


class Command(BaseCommand):
    help = "Sign and post one realistic Twilio SMS/MMS webhook to the gateway and print the reply."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="webhook URL, e.g. http://127.0.0.1:8000/api/sms/webhook")
        parser.add_argument("--from", dest="from_number", required=True, help="sender, E.164")
        parser.add_argument("--body", default="", help="message text (may be empty for MMS)")
        parser.add_argument("--media", action="append", default=[], metavar="URL:TYPE", help="repeat for MMS")
        parser.add_argument("--to", dest="to_number", default=None, help="default: TWILIO_PHONE_NUMBER")
        parser.add_argument(
            "--signed-url",
            default=None,
            help="URL to sign when it differs from --url (default: SMS_WEBHOOK_PUBLIC_URL, else --url)",
        )
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args: Any, **options: Any) -> None:
        url: str = options["url"]
        if not url.startswith(("http://", "https://")):
            raise CommandError("--url must be an http(s) URL")
        params = inbound_payload(
            account_sid=settings.TWILIO_ACCOUNT_SID,
            from_number=options["from_number"],
            to_number=options["to_number"] or settings.TWILIO_PHONE_NUMBER,
            body=options["body"],
            media=[_media_arg(m) for m in options["media"]],
        )
        signed_url = options["signed_url"] or settings.SMS_WEBHOOK_PUBLIC_URL or url
        signature = twilio_signature(signed_url, params, settings.TWILIO_AUTH_TOKEN)
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url,
            data=urllib.parse.urlencode(params).encode(),
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "User-Agent": "TwilioProxy/1.1 (sms_simulate)",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=options["timeout"]) as response:  # noqa: S310
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        except OSError as exc:
            raise CommandError(f"could not reach {url}: {exc}") from exc

        outcome = headers.get("X-SMS-Outcome", "-")
        self.stdout.write(f"MessageSid: {params['MessageSid']}")
        self.stdout.write(f"HTTP {status}  outcome: {outcome}")
        self.stdout.write(f"reply: {_reply_text(body) or '(none)'}")


def _reply_text(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    if not text.startswith("<?xml") and not text.startswith("<Response"):
        return text
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - our own server's TwiML
    except ElementTree.ParseError:
        return text
    return " / ".join((m.text or "") for m in root.iter("Message"))
