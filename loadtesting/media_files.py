"""Real media files for load-test MMS: a voice note, a photo and a contact card.

Generated with PyAV so they are genuine files (the processing path sniffs magic bytes and
transcodes/transcribes audio), small enough to serve thousands of times. Kept in one module
so a shared sample set (tests/fakes/media_files.py) can replace it.
"""

from __future__ import annotations

import array
import io
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import av


@dataclass(frozen=True)
class MediaSample:
    name: str
    content: bytes
    content_type: str


def _voice(seconds: float, rate: int) -> array.array[int]:
    """A voice-like signal: a few harmonics with a syllable-rate envelope (not silence)."""
    samples = array.array("h")
    phase = 0.0
    for n in range(int(seconds * rate)):
        t = n / rate
        phase += 2 * math.pi * (140 + 30 * math.sin(2 * math.pi * 0.7 * t)) / rate
        voice = sum(math.sin(k * phase) / k for k in (1, 2, 3, 4))
        envelope = 0.5 + 0.5 * abs(math.sin(2 * math.pi * 2.5 * t))
        samples.append(int(voice * envelope * 6000))
    return samples


@cache
def amr_voice_note(seconds: float = 5.0) -> bytes:
    """AMR-NB (8 kHz mono, 12.2 kbit/s) in the .amr container, as phones record voice MMS."""
    rate = 8000
    samples = _voice(seconds, rate)
    out = io.BytesIO()
    with av.open(out, mode="w", format="amr") as container:
        stream = container.add_stream("libopencore_amrnb", rate=rate)
        stream.bit_rate = 12200
        stream.layout = "mono"
        frame_size = 160
        for start in range(0, len(samples) - frame_size + 1, frame_size):
            frame = av.AudioFrame(format="s16", layout="mono", samples=frame_size)
            frame.planes[0].update(samples[start : start + frame_size].tobytes())
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@cache
def jpeg_photo(width: int = 320, height: int = 240) -> bytes:
    """A baseline JPEG (gradient with a shape), like a phone photo scaled for MMS."""
    pixels = bytearray(width * height * 3)
    for y in range(height):
        for x in range(width):
            inside = (x - width // 2) ** 2 + (y - height // 2) ** 2 < (height // 4) ** 2
            offset = (y * width + x) * 3
            pixels[offset : offset + 3] = bytes((x * 255 // width, y * 255 // height, 230 if inside else 40))
    frame = av.VideoFrame(width, height, "rgb24")
    frame.planes[0].update(bytes(pixels))
    frame = frame.reformat(format="yuvj420p")
    out = io.BytesIO()
    with av.open(out, mode="w", format="image2pipe") as container:
        stream = container.add_stream("mjpeg", rate=1)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuvj420p"
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def vcard(name: str = "Sarah Connor", phone: str = "+14155550123", email: str = "sarah@example.com") -> bytes:
    """A vCard 3.0 as iOS/Android share a contact."""
    family, _, given = name.partition(" ")[::-1]
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{family};{given};;;",
        f"FN:{name}",
        f"TEL;type=CELL;type=VOICE;type=pref:{phone}",
        f"EMAIL;type=INTERNET;type=HOME:{email}",
        "ORG:Cyberdyne Systems",
        "NOTE:Met at the Boston marathon expo",
        "END:VCARD",
        "",
    ]
    return "\r\n".join(lines).encode()


def media_samples() -> list[MediaSample]:
    """The set served by ``loadtest --media-server``: one of each kind MMS carries."""
    return [
        MediaSample("voice_note.amr", amr_voice_note(), "audio/amr"),
        MediaSample("photo.jpg", jpeg_photo(), "image/jpeg"),
        MediaSample("contact.vcf", vcard(), "text/vcard"),
    ]
