"""A fake Google Speech-to-Text REST API (``POST /v1/speech:recognize``) on 127.0.0.1.

The real ``google-cloud-speech`` client talks to it over its REST transport when
``SPEECH_API_ENDPOINT`` is this server's ``http://`` URL. ``latency`` delays every answer;
``fail_next(status, times)`` answers the next calls with a Google-shaped error; ``transcripts``
(a list, consumed in order) scripts the answers, else the transcript names the request.
Every request's config and audio size is recorded in ``calls``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from devkit.fakes.google import GoogleFake
from devkit.fakes.server import Reply, Request

# The REST transport sends enums as integers (RecognitionConfig.AudioEncoding).
ENCODINGS = {
    0: "ENCODING_UNSPECIFIED",
    1: "LINEAR16",
    2: "FLAC",
    3: "MULAW",
    4: "AMR",
    5: "AMR_WB",
    6: "OGG_OPUS",
    7: "SPEEX_WITH_HEADER_BYTE",
    8: "MP3",
    9: "WEBM_OPUS",
}


@dataclass
class RecognizeCall:
    encoding: str
    sample_rate_hertz: int
    language_code: str
    audio_bytes: int
    audio_head: bytes


@dataclass
class FakeSpeech(GoogleFake):
    calls: list[RecognizeCall] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._serve(r"/v1/speech:recognize", self._recognize)

    def _recognize(self, request: Request) -> Reply:
        payload = json.loads(request.body or b"{}")
        config = payload.get("config", {})
        audio = base64.b64decode(payload.get("audio", {}).get("content", ""))
        call = RecognizeCall(
            encoding=ENCODINGS.get(config.get("encoding"), str(config.get("encoding", ""))),
            sample_rate_hertz=int(config.get("sampleRateHertz", 0)),
            language_code=str(config.get("languageCode", "")),
            audio_bytes=len(audio),
            audio_head=audio[:16],
        )
        with self._lock:
            self.calls.append(call)
            number = len(self.calls)
            text = self.transcripts.pop(0) if self.transcripts else f"transcript {number} of {call.encoding}"
        body: dict[str, object] = (
            {"results": [{"alternatives": [{"transcript": text, "confidence": 0.92}]}]} if text else {}
        )
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
