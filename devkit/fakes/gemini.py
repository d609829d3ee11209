"""A fake Gemini API (``POST /{version}/models/{model}:generateContent``) on 127.0.0.1.

The real ``google-genai`` SDK talks to it when ``GEMINI_BASE_URL`` is this server's URL.
``replies`` (consumed in order) scripts the answers: a dict is sent as the model's JSON text, a
str as the text itself (say, broken JSON); with no script left the fake answers like an obedient
model, a note that is the data's text. ``fail_next(status, times)`` answers with a Google-shaped
error, ``latency`` delays every answer, ``usage`` is the usage metadata sent, ``raw_bodies`` (consumed
in order, before the script) are sent as they are with status 200 (a broken proxy). Every request is
recorded in ``calls`` (model, API key, system instruction, text parts, inline parts decoded,
generation config).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from devkit.fakes.google import GoogleFake
from devkit.fakes.server import Reply, Request


@dataclass
class InlinePart:
    mime_type: str
    data: bytes


@dataclass
class GenerateCall:
    model: str
    api_key: str
    system_instruction: str
    texts: list[str]
    inline: list[InlinePart]
    generation_config: dict[str, Any]

    def data(self) -> Any:
        """The first text part, decoded: the data document the extractor sent."""
        return json.loads(self.texts[0])


@dataclass
class FakeGemini(GoogleFake):
    usage: dict[str, int] = field(default_factory=lambda: {"promptTokenCount": 1200, "candidatesTokenCount": 80})
    calls: list[GenerateCall] = field(default_factory=list)
    replies: list[dict[str, Any] | str] = field(default_factory=list)
    finish_reason: str = "STOP"
    raw_bodies: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._serve(r"/[^/]+/models/(?P<model>[^/:]+):generateContent", self._generate)

    def _generate(self, request: Request) -> Reply:
        with self._lock:
            raw = self.raw_bodies.pop(0) if self.raw_bodies else None
        if raw is not None:
            return Reply(200, raw, {"Content-Type": "text/html"})
        payload = json.loads(request.body or b"{}")
        parts = [part for content in payload.get("contents", []) for part in content.get("parts", [])]
        instruction = payload.get("systemInstruction", {}).get("parts", [])
        call = GenerateCall(
            model=request.match.group("model") if request.match else "",
            api_key=request.header("x-goog-api-key") or "",
            system_instruction="".join(p.get("text", "") for p in instruction),
            texts=[p["text"] for p in parts if "text" in p],
            inline=[
                _inline(p.get("inlineData") or p["inline_data"])
                for p in parts
                if "inlineData" in p or "inline_data" in p
            ],
            generation_config=payload.get("generationConfig", {}),
        )
        with self._lock:
            self.calls.append(call)
            reply = self.replies.pop(0) if self.replies else None
        if reply is None:
            reply = _obedient(call)
        text = reply if isinstance(reply, str) else json.dumps(reply)
        body = {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": self.finish_reason}
            ],
            "usageMetadata": {**self.usage, "totalTokenCount": sum(self.usage.values())},
            "modelVersion": call.model,
        }
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def _inline(part: dict[str, Any]) -> InlinePart:
    data = part.get("data", "")
    # The SDK sends bytes base64url-encoded; the API accepts either alphabet.
    decoded = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return InlinePart(mime_type=part.get("mimeType") or part.get("mime_type", ""), data=decoded)


def _obedient(call: GenerateCall) -> dict[str, Any]:
    """What a model that keeps to its instruction answers: the data's text as the note."""
    try:
        data = call.data()
    except (IndexError, ValueError):
        data = {}
    return {
        "note": str(data.get("text", "")),
        "voice_notes": [str(v) for v in data.get("voice_notes", [])],
        "people": [],
        "tags": [],
        "locations": [],
        "dates": [],
        "contacts": [],
    }
