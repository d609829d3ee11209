"""Load-test traffic: complete Twilio webhook payloads, signed exactly as Twilio signs them.

Payloads start from the shared webhook fixtures (devkit/fixtures/twilio) so the load test and
the webhook tests post the same shapes. Every message of a run gets a MessageSid that starts
with ``SM``/``MM`` + the run id, so the run's rows can be found in the database afterwards.

This module must not import Django: the locustfile imports it in the locust subprocess.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from devkit.payloads import load_payload, num_segments, twilio_signature

# Realistic note-taking texts: several languages, emoji, hashtags, long multi-segment ones.
BODIES: tuple[str, ...] = (
    "Had lunch with Sarah, she's training for the Boston marathon #running",
    "Coffee with Mateo ☕️ — he's moving to Lisbon 🇵🇹 in June! #friends 🎉",
    "Call mom back about Thanksgiving plans",
    "Met Priya at the React meetup, she works at Stripe on payments infra #work #networking",
    "Dinner con Lucía: su hija empieza la universidad en septiembre 🎓 #familia",
    "Kaffee mit Jonas – er sucht eine neue Wohnung in Berlin-Kreuzberg #freunde",  # noqa: RUF001
    "Déjeuner avec Chloé, elle adore l'escalade 🧗‍♀️ et part à Chamonix cet été",
    "和田さんとランチ。来月大阪に転勤するそうです 🍜 #同僚",
    "Поговорил с Алексеем: у него родился сын, зовут Миша 👶",  # noqa: RUF001
    "Tom's birthday is March 14 🎂 he likes single malt whisky and sci-fi books",
    "Jenny recommended the book 'Project Hail Mary' 📚 #books",
    "Ahmed: new number +1 (617) 555-0199, moved to Cambridge MA #contact",
    "أحمد انتقل إلى دبي الشهر الماضي ويعمل في شركة طيران ✈️",
    "👍",
    "Ran into Dave and Kim at Whole Foods on 4th St. Their twins start kindergarten next fall; "
    "Kim is going back to work at the hospital (nursing, night shifts) and Dave is thinking about "
    "leaving his consulting job to start a bakery with his brother in Oakland. They asked us over "
    "for a BBQ in two weeks — bring the potato salad. Remember: Kim is allergic to peanuts, Dave "
    "doesn't drink. #friends #bbq #oakland",
    "Remind me: Luis owes me $40 for the concert tickets 🎸",
    "Grandpa's surgery went well, visiting hours 2-6pm at Mass General, room 512 🙏 #family",
    "Notes from 1:1 with Erin: wants to lead the Q3 migration project, interested in mentoring. "
    "Follow up re: conference budget for KubeCon 🚀 #work",
)

KEYWORD_FIXTURES: dict[str, str] = {
    "STOP": "inbound_sms__stop",
    "START": "inbound_sms__start",
    "HELP": "inbound_sms__help",
}

# Twilio's ordinary MMS fields; the media ones are rebuilt per message.
_MEDIA_PREFIXES = ("MediaUrl", "MediaContentType")


def sender_number(index: int) -> str:
    """The ``index``-th load-test sender: +1 415 7xx xxxx (valid US numbers, distinct from fixtures)."""
    if not 0 <= index < 3_000_000:
        raise ValueError("sender index out of range")
    return f"+1415{7_000_000 + index:07d}"


def new_run_id() -> str:
    """8 hex digits identifying one load-test run inside every MessageSid it sends."""
    return secrets.token_hex(4)


def run_message_sid(run_id: str, *, mms: bool) -> str:
    """A Twilio-shaped SID (``SM``/``MM`` + 32 hex) carrying the run id."""
    return ("MM" if mms else "SM") + run_id + secrets.token_hex(12)


@dataclass(frozen=True)
class MediaSource:
    """A media file the target can download. ``base_url`` is the Twilio API host serving it; or
    ``fixed_url``, one URL every message links (``--media-url``)."""

    base_url: str
    media_sid: str
    content_type: str
    fixed_url: str = ""

    def url(self, *, account_sid: str, message_sid: str) -> str:
        if self.fixed_url:
            return self.fixed_url
        return f"{self.base_url}/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{self.media_sid}"


# Without a media server the URLs point at Twilio itself (as a real delivery would).
TWILIO_MEDIA: tuple[MediaSource, ...] = (
    MediaSource("https://api.twilio.com", "ME" + "a1" * 16, "audio/amr"),
    MediaSource("https://api.twilio.com", "ME" + "b2" * 16, "image/jpeg"),
    MediaSource("https://api.twilio.com", "ME" + "c3" * 16, "text/vcard"),
)


@dataclass(frozen=True)
class SignedRequest:
    kind: str  # sms / mms / duplicate / stop / start / help
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class TrafficGenerator:
    """Builds the signed deliveries one simulated phone population sends."""

    run_id: str
    sign_url: str
    auth_token: str
    account_sid: str
    to_number: str
    senders: int
    mms_ratio: float = 0.3
    media: tuple[MediaSource, ...] = TWILIO_MEDIA
    rng: random.Random = field(default_factory=random.Random)

    def sender(self) -> str:
        return sender_number(self.rng.randrange(self.senders))

    def _base(self, fixture: str, *, sender: str, mms: bool) -> dict[str, str]:
        payload = load_payload(fixture)
        sid = run_message_sid(self.run_id, mms=mms)
        payload.update(
            MessageSid=sid,
            SmsSid=sid,
            SmsMessageSid=sid,
            AccountSid=self.account_sid,
            From=sender,
            To=self.to_number,
        )
        return payload

    def sms(self, sender: str | None = None) -> dict[str, str]:
        body = self.rng.choice(BODIES)
        payload = self._base("inbound_sms__plain", sender=sender or self.sender(), mms=False)
        payload.update(Body=body, NumSegments=str(num_segments(body)))
        return payload

    def mms(self, sender: str | None = None) -> dict[str, str]:
        """An MMS with 1-3 attachments of mixed types, and a caption half of the time."""
        payload = self._base("inbound_mms__voice_image_vcard", sender=sender or self.sender(), mms=True)
        for key in [k for k in payload if k.startswith(_MEDIA_PREFIXES)]:
            del payload[key]
        attachments = self.rng.sample(list(self.media), k=self.rng.randint(1, min(3, len(self.media))))
        for index, source in enumerate(attachments):
            payload[f"MediaUrl{index}"] = source.url(account_sid=self.account_sid, message_sid=payload["MessageSid"])
            payload[f"MediaContentType{index}"] = source.content_type
        body = self.rng.choice(BODIES) if self.rng.random() < 0.5 else ""
        payload.update(NumMedia=str(len(attachments)), Body=body, NumSegments="1")
        return payload

    def message(self, sender: str | None = None) -> tuple[str, dict[str, str]]:
        if self.rng.random() < self.mms_ratio:
            return "mms", self.mms(sender)
        return "sms", self.sms(sender)

    def keyword(self, word: str, sender: str | None = None) -> dict[str, str]:
        payload = self._base(KEYWORD_FIXTURES[word], sender=sender or self.sender(), mms=False)
        payload["Body"] = word
        return payload

    def sign(self, kind: str, params: dict[str, str]) -> SignedRequest:
        """Headers exactly as Twilio sends them; the signature covers the public URL and every field."""
        headers = {
            "X-Twilio-Signature": twilio_signature(self.sign_url, params, self.auth_token),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        }
        return SignedRequest(kind, params, headers)

    @staticmethod
    def retry_of(request: SignedRequest) -> SignedRequest:
        """Twilio's retry of a delivery: same fields and signature (a new idempotency token)."""
        headers = {**request.headers, "I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        return SignedRequest("duplicate", request.params, headers)


def generator_from_config(config: dict[str, Any], rng: random.Random | None = None) -> TrafficGenerator:
    media = tuple(MediaSource(**item) for item in config.get("media") or ()) or TWILIO_MEDIA
    return TrafficGenerator(
        run_id=config["run_id"],
        sign_url=config["sign_url"],
        auth_token=config["auth_token"],
        account_sid=config["account_sid"],
        to_number=config["to_number"],
        senders=int(config["senders"]),
        mms_ratio=float(config["mms_ratio"]),
        media=media,
        rng=rng or random.Random(),
    )
