"""What media really is, from its first bytes (never from the Content-Type a sender declared)."""

from __future__ import annotations

OCTET_STREAM = "application/octet-stream"

AUDIO_TYPES = frozenset(
    {
        "audio/amr",
        "audio/amr-wb",
        "audio/ogg",
        "audio/flac",
        "audio/wav",
        "audio/mp4",
        "audio/3gpp",
        "audio/mpeg",
    }
)
# Containers that hold audio or video; which one is decided by probing the streams.
AV_CONTAINERS = frozenset({"video/mp4", "video/3gpp", "video/quicktime"})
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic"})
VIDEO_TYPES = frozenset({"video/mp4", "video/3gpp", "video/quicktime", "video/webm"})
VCARD_TYPES = frozenset({"text/vcard"})
# Text parts of an MMS (a long message some carriers send as MMS, or a note beside a photo):
# read as text and made part of the note. Plain text has no magic bytes; the declared type and
# valid UTF-8 decide.
TEXT_TYPES = frozenset({"text/plain"})
MAX_TEXT_PART_BYTES = 64 * 1024

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/quicktime": "mov",
    "video/webm": "webm",
}

_FTYP_BRANDS = {
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"qt  ": "video/quicktime",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heic",
}


def sniff_content_type(head: bytes) -> str:
    """The MIME type the leading bytes show (``application/octet-stream`` when unknown)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"#!AMR-WB\n"):
        return "audio/amr-wb"
    if head.startswith(b"#!AMR\n"):
        return "audio/amr"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
        if brand.startswith(b"3g"):
            return "video/3gpp"
        return "video/mp4"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    if text.startswith(b"BEGIN:VCARD"):
        return "text/vcard"
    return OCTET_STREAM
