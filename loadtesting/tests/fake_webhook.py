"""A tiny stand-in for the webhook, for testing the load-test plumbing only (never shipped).

It checks the Twilio signature with the SDK's validator, answers TwiML with an
``X-SMS-Outcome`` like the real webhook, and exposes named-cache counters on /metrics.
"""

from __future__ import annotations

import threading
from collections import Counter
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from devkit.fakes.server import FakeServer, Reply, Request

TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class FakeWebhook:
    def __init__(
        self, auth_token: str, *, rate_limit_every: int = 0, sign_url: str | None = None, store_as: str = ""
    ) -> None:
        self.validator = RequestValidator(auth_token)
        self.rate_limit_every = rate_limit_every
        self.server = FakeServer()
        self.sign_url = sign_url
        # With a status, each accepted message is stored in the test database as ending so
        # (e.g. "failed"), for the end-to-end check to find.
        self.store_as = store_as
        self.media_urls: list[str] = []
        self.seen: set[str] = set()
        self.senders: set[str] = set()
        self.hits = 0
        self.misses = 0
        self.outcomes: Counter[str] = Counter()
        self.posts = 0
        self._lock = threading.Lock()
        self.server.route("POST", r"/api/sms/webhook")(self._webhook)
        self.server.route("GET", r"/metrics")(self._metrics)

    @property
    def url(self) -> str:
        return self.server.url + "/api/sms/webhook"

    def start(self) -> FakeWebhook:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def _webhook(self, request: Request) -> Reply:
        params = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        signature = request.header("X-Twilio-Signature") or ""
        if not self.validator.validate(self.sign_url or self.url, params, signature):
            return Reply(403, b"invalid signature")
        with self._lock:
            self.posts += 1
            sender = params["From"]
            if sender in self.senders:
                self.hits += 1
            else:
                self.misses += 1
                self.senders.add(sender)
            body = params.get("Body", "").strip().upper()
            if params["MessageSid"] in self.seen:
                outcome = "duplicate"
            elif body == "STOP":
                outcome = "opted_out"
            elif body == "START":
                outcome = "opted_in"
            elif body == "HELP":
                outcome = "help"
            elif self.rate_limit_every and self.posts % self.rate_limit_every == 0:
                outcome = "rate_limited"
            else:
                outcome = "accepted"
            self.seen.add(params["MessageSid"])
            self.outcomes[outcome] += 1
            self.media_urls += [v for k, v in params.items() if k.startswith("MediaUrl")]
        if outcome == "accepted" and self.store_as:
            from sms.tests.factories import inbound_message_create

            inbound_message_create(message_sid=params["MessageSid"], status=self.store_as)
        return Reply(200, TWIML, {"Content-Type": "text/xml", "X-SMS-Outcome": outcome})

    def _metrics(self, request: Request) -> Reply:
        text = (
            "# HELP smsgw_cache_hits_total Named cache hits.\n"
            "# TYPE smsgw_cache_hits_total counter\n"
            f'smsgw_cache_hits_total{{cache="phone_lookup"}} {float(self.hits)}\n'
            "# HELP smsgw_cache_misses_total Named cache misses.\n"
            "# TYPE smsgw_cache_misses_total counter\n"
            f'smsgw_cache_misses_total{{cache="phone_lookup"}} {float(self.misses)}\n'
        )
        return Reply(200, text.encode(), {"Content-Type": "text/plain; version=0.0.4"})
