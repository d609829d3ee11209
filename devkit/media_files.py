"""Real media files made with PyAV (no binary fixtures in the repository): for the tests, and
the set ``loadtest --media-server`` serves.

Audio is a tone that changes pitch every half second, so encoders produce real frames. This
PyAV build has an AMR-NB encoder but no AMR-WB encoder: AMR-WB is covered by sniffing and by
the encoding table, not by a generated file (see ``sms/tests/test_audio.py``).
"""

from __future__ import annotations

import io
import math
from array import array
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import av

# format, codec, sample rate, container content type Twilio would declare
AUDIO_FORMATS: dict[str, tuple[str, str, int, str]] = {
    "amr": ("amr", "libopencore_amrnb", 8000, "audio/amr"),
    "ogg_opus": ("ogg", "libopus", 48000, "audio/ogg"),
    "flac": ("flac", "flac", 16000, "audio/flac"),
    "wav": ("wav", "pcm_s16le", 16000, "audio/wav"),
    "m4a": ("ipod", "aac", 44100, "audio/mp4"),
    "3gp": ("3gp", "libopencore_amrnb", 8000, "audio/3gpp"),
    "mp3": ("mp3", "libmp3lame", 44100, "audio/mpeg"),
}


def _tone(rate: int, seconds: float) -> array:
    samples = array("h")
    for n in range(int(rate * seconds)):
        t = n / rate
        pitch = 300 + 200 * (int(t * 2) % 4)
        samples.append(int(math.sin(2 * math.pi * pitch * t) * 12000))
    return samples


def _frame(block: array, rate: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(block))
    frame.planes[0].update(block.tobytes())
    frame.sample_rate = rate
    return frame


@cache
def audio_bytes(kind: str, seconds: float = 2.0) -> bytes:
    """``seconds`` of tone encoded as ``kind`` (a key of AUDIO_FORMATS)."""
    fmt, codec, rate, _ = AUDIO_FORMATS[kind]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as container:
        stream: Any = container.add_stream(codec, rate=rate, layout="mono")
        if codec == "libopencore_amrnb":
            stream.codec_context.bit_rate = 12200
        encoder_format = stream.codec_context.format.name
        samples = _tone(rate, seconds)
        frame_size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=encoder_format, layout="mono", rate=rate)
        pts = 0
        for start in range(0, len(samples), frame_size):
            block = samples[start : start + frame_size]
            if len(block) < frame_size and stream.codec_context.frame_size:
                block.extend([0] * (frame_size - len(block)))
            frame = _frame(block, rate)
            for out in resampler.resample(frame):
                out.pts = pts
                out.time_base = Fraction(1, rate)
                pts += out.samples
                for packet in stream.encode(out):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


@cache
def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    """A small real JPEG (a colour gradient)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mjpeg") as container:
        stream = container.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        frame = av.VideoFrame(width, height, "rgb24")
        row = bytes(c for x in range(width) for c in (x * 255 // width, 80, 255 - x * 255 // width))
        line_size = frame.planes[0].line_size
        frame.planes[0].update(b"".join(row.ljust(line_size, b"\0") for _ in range(height)))
        for packet in stream.encode(frame.reformat(format="yuvj420p")):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def vcard_bytes(name: str = "Sarah Connor", phone: str = "+1 415 555 0199", email: str = "sarah@example.com") -> bytes:
    family, _, given = name.rpartition(" ")[::-1] if " " in name else ("", "", name)
    return (
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        f"N:{family};{given};;;\r\n"
        f"FN:{name}\r\n"
        f"TEL;TYPE=CELL:{phone}\r\n"
        f"EMAIL;TYPE=INTERNET:{email}\r\n"
        "END:VCARD\r\n"
    ).encode()


def silent_flac_bytes(seconds: float, rate: int = 8000) -> bytes:
    """``seconds`` of digital silence as FLAC, which compresses it to almost nothing: six hours
    fit in about 4 MB, under Twilio's 5 MB MMS limit (a cost-abuse voice note)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="flac") as container:
        stream: Any = container.add_stream("flac", rate=rate, layout="mono")
        stream.codec_context.format = "s16"
        size = 4608
        frame = av.AudioFrame(format="s16", layout="mono", samples=size)
        frame.planes[0].update(bytes(2 * size))
        frame.sample_rate = rate
        total = int(seconds * rate)
        for pts in range(0, total, size):
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


@dataclass(frozen=True)
class MediaSample:
    name: str
    content: bytes
    content_type: str


def media_samples() -> list[MediaSample]:
    """The set served by ``loadtest --media-server``: one of each kind MMS carries (a 5-second
    AMR-NB voice note as phones record them, a photo scaled for MMS, a contact card)."""
    return [
        MediaSample("voice_note.amr", audio_bytes("amr", 5.0), "audio/amr"),
        MediaSample("photo.jpg", jpeg_bytes(320, 240), "image/jpeg"),
        MediaSample("contact.vcf", vcard_bytes(phone="+14155550123"), "text/vcard"),
    ]
