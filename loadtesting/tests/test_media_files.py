import io

import av

from devkit.media_files import media_samples


def _sample(content_type: str) -> bytes:
    return next(s.content for s in media_samples() if s.content_type == content_type)


def test_voice_note_is_real_amr_nb_of_about_five_seconds():
    data = _sample("audio/amr")
    assert data.startswith(b"#!AMR\n")
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "amrnb"
        assert stream.rate == 8000
        samples = sum(int(frame.samples) for frame in container.decode(stream))
    assert 4.5 < samples / 8000 < 5.5


def test_photo_is_a_decodable_jpeg():
    data = _sample("image/jpeg")
    assert data[:3] == b"\xff\xd8\xff"
    with av.open(io.BytesIO(data), mode="r") as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (320, 240)


def test_vcard_is_a_contact_card():
    text = _sample("text/vcard").decode()
    assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    assert "FN:Sarah Connor" in text and "TEL;TYPE=CELL:+14155550123" in text
    assert text.endswith("END:VCARD\r\n")


def test_samples_cover_audio_image_and_contact():
    assert {s.content_type for s in media_samples()} == {"audio/amr", "image/jpeg", "text/vcard"}
