"""Voice notes: which formats go to Speech as they are, which are transcoded, how long audio is split."""

from __future__ import annotations

import pytest

from devkit.media_files import AUDIO_FORMATS, audio_bytes
from sms.clients.speech import SpeechClient
from sms.processing import audio
from sms.processing.media_types import sniff_content_type

NATIVE = {
    "amr": ("AMR", 8000),
    "ogg_opus": ("OGG_OPUS", 48000),
    "flac": ("FLAC", 16000),
    "wav": ("LINEAR16", 16000),
}
TRANSCODED = ["m4a", "3gp", "mp3"]


def _file(tmp_path, kind, seconds=2.0):
    path = tmp_path / f"note.{kind}"
    path.write_bytes(audio_bytes(kind, seconds))
    return path


@pytest.mark.parametrize("kind", list(AUDIO_FORMATS))
def test_generated_audio_is_sniffed_from_its_bytes(tmp_path, kind):
    head = _file(tmp_path, kind).read_bytes()[:64]
    expected = {"3gp": "video/3gpp"}.get(kind, AUDIO_FORMATS[kind][3])
    assert sniff_content_type(head) == expected


@pytest.mark.parametrize("kind", list(NATIVE))
def test_speech_native_formats_are_sent_as_they_are(tmp_path, kind):
    path = _file(tmp_path, kind)

    chunks = audio.speech_chunks(path, max_chunk_seconds=55, max_seconds=300)

    assert len(chunks) == 1
    assert (chunks[0].encoding, chunks[0].sample_rate_hertz) == NATIVE[kind]
    assert chunks[0].content == path.read_bytes()
    assert not chunks[0].transcoded


@pytest.mark.parametrize("kind", TRANSCODED)
def test_other_formats_are_transcoded_to_flac(tmp_path, kind):
    path = _file(tmp_path, kind)

    chunks = audio.speech_chunks(path, max_chunk_seconds=55, max_seconds=300)

    assert len(chunks) == 1
    chunk = chunks[0]
    assert (chunk.encoding, chunk.sample_rate_hertz, chunk.transcoded) == ("FLAC", 16000, True)
    assert chunk.content.startswith(b"fLaC")
    assert chunk.seconds == pytest.approx(2.0, abs=0.15)


def test_long_audio_is_split_into_chunks_within_the_limit(tmp_path):
    path = _file(tmp_path, "amr", seconds=7.0)

    chunks = audio.speech_chunks(path, max_chunk_seconds=3, max_seconds=300)

    assert [c.encoding for c in chunks] == ["FLAC"] * 3
    assert all(c.seconds <= 3 for c in chunks)
    assert sum(c.seconds for c in chunks) == pytest.approx(7.0, abs=0.3)
    for chunk in chunks:
        reread = tmp_path / "chunk.flac"
        reread.write_bytes(chunk.content)
        assert audio.probe(reread).duration == pytest.approx(chunk.seconds, abs=0.05)


def test_amr_wb_header_and_encoding_are_recognised(tmp_path):
    # This PyAV build cannot encode AMR-WB, so no real AMR-WB file can be generated here:
    # sniffing and the encoding/rate table are covered, decoding of real AMR-WB is not.
    assert sniff_content_type(b"#!AMR-WB\n" + b"\x00" * 20) == "audio/amr-wb"
    info = audio.MediaInfo(
        format_name="amr", audio_codec="amrwb", sample_rate=16000, channels=1, duration=3.0, has_video=False
    )
    assert audio.native_encoding(info) == "AMR_WB"


def test_corrupt_audio_raises_a_permanent_error(tmp_path):
    path = tmp_path / "bad.amr"
    path.write_bytes(b"#!AMR\n" + b"\x07" * 10)

    with pytest.raises(audio.AudioError):
        audio.speech_chunks(path, max_chunk_seconds=55, max_seconds=300)


@pytest.mark.parametrize("kind", ["amr", "ogg_opus", "flac", "wav", "m4a", "3gp", "mp3"])
def test_each_format_reaches_the_speech_fake_with_its_encoding(tmp_path, fake_speech, kind):
    client = SpeechClient(
        endpoint=fake_speech.url, language_code="en-US", pool_size=2, pool_timeout=2, timeout=5, retry_deadline=5
    )
    for chunk in audio.speech_chunks(_file(tmp_path, kind), max_chunk_seconds=55, max_seconds=300):
        client.recognize(content=chunk.content, encoding=chunk.encoding, sample_rate_hertz=chunk.sample_rate_hertz)

    call = fake_speech.calls[-1]
    expected = NATIVE.get(kind, ("FLAC", 16000))
    assert (call.encoding, call.sample_rate_hertz) == expected


@pytest.fixture(scope="module")
def six_hours_of_silence(tmp_path_factory):
    from devkit.media_files import silent_flac_bytes

    path = tmp_path_factory.mktemp("audio") / "six-hours.flac"
    path.write_bytes(silent_flac_bytes(6 * 3600))
    return path


def test_six_hours_of_silence_fits_an_mms(six_hours_of_silence):
    assert six_hours_of_silence.stat().st_size < 5 * 1024 * 1024


def test_audio_declared_longer_than_the_limit_is_refused_before_decoding(six_hours_of_silence, monkeypatch):
    def must_not_decode(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(audio, "transcode_to_flac_chunks", must_not_decode)
    monkeypatch.setattr(audio, "_check_decodes", must_not_decode)
    with pytest.raises(audio.AudioTooLongError):
        audio.speech_chunks(six_hours_of_silence, max_chunk_seconds=55, max_seconds=300)


def test_audio_that_decodes_longer_than_it_declared_stops_at_the_limit(six_hours_of_silence, monkeypatch):
    # A container that lies about its length: decoding stops at the limit, not after six hours.
    real = audio.probe(six_hours_of_silence)
    monkeypatch.setattr(audio, "probe", lambda path: real.__class__(**{**real.__dict__, "duration": 60.0}))
    chunks: list[audio.SpeechChunk] = []
    with pytest.raises(audio.AudioTooLongError):
        for chunk in audio.transcode_to_flac_chunks(six_hours_of_silence, max_chunk_seconds=55, max_seconds=300):
            chunks.append(chunk)
    assert len(chunks) <= 300 // 55 + 1  # Speech requests stay bounded too
    with pytest.raises(audio.AudioTooLongError):
        audio.speech_chunks(six_hours_of_silence, max_chunk_seconds=55, max_seconds=300)
