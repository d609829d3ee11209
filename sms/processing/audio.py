"""Voice notes for Speech-to-Text: what to send as it is, what to transcode, how to split.

Speech-to-Text takes AMR, AMR-WB, OGG/Opus, FLAC and 16-bit WAV directly (with the right
encoding and sample rate); anything else it can't (AAC/M4A, 3GP, MP3, Vorbis, …) is decoded
and re-encoded in-process with PyAV to 16 kHz mono FLAC. Synchronous recognition accepts about
a minute of audio, so longer notes are cut into FLAC chunks of at most
``SPEECH_MAX_CHUNK_SECONDS`` whose transcripts the caller joins.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from sms.exceptions import SmsError

logger = logging.getLogger(__name__)

TRANSCODE_RATE = 16_000


class AudioError(SmsError, code="corrupt_media"): ...


class AudioCorruptError(AudioError):
    """The bytes do not decode as audio."""


class AudioUnsupportedError(AudioError, code="unsupported_type"): ...


class AudioTooLongError(AudioError, code="audio_too_long"):
    """Longer than SMS_AUDIO_MAX_SECONDS, by the container's word or by decoding: refused before
    (or while) transcoding, so a tiny file of hours of silence costs no CPU or Speech time."""


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    audio_codec: str | None
    sample_rate: int
    channels: int
    duration: float
    has_video: bool

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


@dataclass(frozen=True)
class SpeechChunk:
    """One request's worth of audio, with what Speech-to-Text needs to know about it."""

    content: bytes
    encoding: str  # a RecognitionConfig.AudioEncoding name
    sample_rate_hertz: int
    channels: int
    seconds: float
    transcoded: bool


# (container format name prefix, codec name) -> Speech-to-Text encoding, for audio sent as it is.
_NATIVE = {
    ("amr", "amrnb"): "AMR",
    ("amr", "amr_nb"): "AMR",
    ("amr", "amrwb"): "AMR_WB",
    ("amr", "amr_wb"): "AMR_WB",
    ("ogg", "opus"): "OGG_OPUS",
    ("flac", "flac"): "FLAC",
    ("wav", "pcm_s16le"): "LINEAR16",
}


def probe(path: Path) -> MediaInfo:
    """Streams and duration of a media file. Raises AudioCorruptError when it can't be read."""
    try:
        with av.open(str(path)) as container:
            audio = next(iter(container.streams.audio), None)
            has_video = any(s.codec_context.type == "video" for s in container.streams.video)
            duration = 0.0
            if audio is not None and audio.duration is not None and audio.time_base is not None:
                duration = float(audio.duration * audio.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            elif audio is not None:
                duration = _demuxed_seconds(container, audio)
            return MediaInfo(
                format_name=str(container.format.name),
                audio_codec=audio.codec_context.name if audio is not None else None,
                sample_rate=int(audio.codec_context.sample_rate or 0) if audio is not None else 0,
                channels=int(audio.codec_context.channels or 1) if audio is not None else 0,
                duration=duration,
                has_video=has_video,
            )
    except (av.error.FFmpegError, StopIteration, ValueError) as exc:
        raise AudioCorruptError(f"unreadable media: {type(exc).__name__}") from exc


def _demuxed_seconds(container: av.container.InputContainer, stream: av.audio.AudioStream) -> float:
    total = 0
    for packet in container.demux(stream):
        if packet.duration:
            total += packet.duration
    return float(total * stream.time_base) if stream.time_base is not None else 0.0


def _check_decodes(path: Path, *, max_seconds: float) -> None:
    """Decode the whole file (milliseconds for a voice note) so corrupt audio fails here, not at
    Speech, and a file longer than it said stops at ``max_seconds``."""
    samples = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                samples += frame.samples
                if frame.sample_rate and samples / frame.sample_rate > max_seconds:
                    raise AudioTooLongError(f"audio decodes to more than {max_seconds:.0f} s")
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        raise AudioCorruptError(f"audio does not decode: {type(exc).__name__}") from exc
    if samples == 0:
        raise AudioCorruptError("no audio samples")


def native_encoding(info: MediaInfo) -> str | None:
    """The Speech-to-Text encoding to send this file as it is, or None when it must be transcoded."""
    if info.audio_codec is None:
        return None
    for fmt in info.format_name.split(","):
        encoding = _NATIVE.get((fmt, info.audio_codec))
        if encoding is not None:
            return encoding
    return None


def speech_chunks(path: Path, *, max_chunk_seconds: float, max_seconds: float) -> list[SpeechChunk]:
    """The audio of ``path`` ready for synchronous recognition, in as few requests as allowed:
    at most ``max_seconds`` of it, so at most ceil(max_seconds / max_chunk_seconds) requests."""
    info = probe(path)
    if not info.has_audio:
        raise AudioUnsupportedError("no audio stream")
    if info.duration > max_seconds:
        raise AudioTooLongError(f"audio of {info.duration:.0f} s, more than {max_seconds:.0f} s")
    encoding = native_encoding(info)
    if encoding is not None and info.duration <= max_chunk_seconds:
        _check_decodes(path, max_seconds=max_seconds)
        rate = info.sample_rate
        if encoding == "AMR":
            rate = 8000
        elif encoding == "AMR_WB":
            rate = 16000
        elif encoding == "OGG_OPUS":
            rate = 48000  # Opus always decodes at 48 kHz; Speech wants the decode rate
        return [
            SpeechChunk(
                content=path.read_bytes(),
                encoding=encoding,
                sample_rate_hertz=rate,
                channels=info.channels if encoding in ("FLAC", "LINEAR16") else 1,
                seconds=info.duration,
                transcoded=False,
            )
        ]
    return list(transcode_to_flac_chunks(path, max_chunk_seconds=max_chunk_seconds, max_seconds=max_seconds))


def transcode_to_flac_chunks(
    path: Path, *, max_chunk_seconds: float, max_seconds: float = float("inf")
) -> Iterator[SpeechChunk]:
    """Decode any audio PyAV reads and re-encode it as 16 kHz mono FLAC, one chunk per window;
    stop with AudioTooLongError once more than ``max_seconds`` decoded (a container may lie)."""
    samples_per_chunk = max(1, int(max_chunk_seconds * TRANSCODE_RATE))
    max_samples = max_seconds * TRANSCODE_RATE
    decoded = 0
    resampler = av.AudioResampler(format="s16", layout="mono", rate=TRANSCODE_RATE)
    writer = _FlacChunkWriter()
    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                raise AudioUnsupportedError("no audio stream")
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    decoded += out.samples
                    if decoded > max_samples:
                        raise AudioTooLongError(f"audio decodes to more than {max_seconds:.0f} s")
                    yield from writer.add(out, samples_per_chunk)
            for out in resampler.resample(None):
                yield from writer.add(out, samples_per_chunk)
    except (av.error.FFmpegError, ValueError) as exc:
        raise AudioCorruptError(f"audio does not decode: {type(exc).__name__}") from exc
    last = writer.finish()
    if last is not None:
        yield last


class _FlacChunkWriter:
    """Collects resampled frames and cuts them into FLAC files of at most N samples each."""

    def __init__(self) -> None:
        self.buffer: io.BytesIO | None = None
        self.container: av.container.OutputContainer | None = None
        self.stream: av.audio.AudioStream | None = None
        self.samples = 0
        self.pts = 0

    def _open(self) -> None:
        self.buffer = io.BytesIO()
        self.container = av.open(self.buffer, mode="w", format="flac")
        self.stream = self.container.add_stream("flac", rate=TRANSCODE_RATE, layout="mono")
        self.samples = 0
        self.pts = 0

    def _write(self, frame: av.AudioFrame) -> None:
        assert self.container is not None and self.stream is not None
        frame.pts = self.pts
        self.pts += frame.samples
        self.samples += frame.samples
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def add(self, frame: av.AudioFrame, limit: int) -> Iterator[SpeechChunk]:
        if self.container is None:
            self._open()
        room = limit - self.samples
        if frame.samples <= room:
            self._write(frame)
            return
        # Split the frame at the chunk boundary so no chunk exceeds the limit (s16 mono: 2 bytes a sample).
        data = bytes(frame.planes[0])[: frame.samples * 2]
        head, tail = data[: room * 2], data[room * 2 :]
        if room > 0:
            self._write(_frame_from(head))
        chunk = self.finish()
        if chunk is not None:
            yield chunk
        while tail:
            self._open()
            part, tail = tail[: limit * 2], tail[limit * 2 :]
            self._write(_frame_from(part))
            if tail:
                chunk = self.finish()
                if chunk is not None:
                    yield chunk

    def finish(self) -> SpeechChunk | None:
        if self.container is None or self.stream is None or self.buffer is None:
            return None
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        samples = self.samples
        content = self.buffer.getvalue()
        self.container = self.stream = self.buffer = None
        if samples == 0:
            return None
        return SpeechChunk(
            content=content,
            encoding="FLAC",
            sample_rate_hertz=TRANSCODE_RATE,
            channels=1,
            seconds=samples / TRANSCODE_RATE,
            transcoded=True,
        )


def _frame_from(data: bytes) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(data) // 2)
    frame.planes[0].update(data)
    frame.sample_rate = TRANSCODE_RATE
    return frame
