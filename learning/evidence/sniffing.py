"""Recognise an uploaded file's content type from its first bytes (magic numbers), never from the client's header."""
from __future__ import annotations

# Enough of the file to see a signature and, for Office files, the names of the first zip entries.
SNIFF_BYTES = 16 * 1024

_OOXML = {
    b"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    b"xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    b"ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}


def sniff(head: bytes) -> str | None:
    """Return the content type the bytes are, or None when they match no known signature."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"MSNV", b"dash"):
        return "video/mp4"
    if head.startswith(b"PK\x03\x04") and b"[Content_Types].xml" in head:
        # An Office Open XML package: the part directory names which application it is.
        found = [(head.find(marker), kind) for marker, kind in _OOXML.items() if marker in head]
        return min(found)[1] if found else None
    return None
