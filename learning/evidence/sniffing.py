"""Recognise an uploaded file's content type from its bytes (magic numbers), never from the client's header or name.

Also what follows from the type: the extension a stored or downloaded name carries, and for zip-based
Office files what their zip directory declares they inflate to.
"""
from __future__ import annotations

import unicodedata
import zipfile
from typing import IO

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


# Other spellings of an extension that name the same type; a client's name keeps one of these.
_ALIASES = {"image/jpeg": (".jpeg", ".jpe")}
ZIP_BASED = frozenset(kind for kind in EXTENSIONS if "openxmlformats" in kind)
# Characters that a file system or a Content-Disposition reader treats specially.
_RESERVED = set('<>:"/\\|?*')


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


def safe_file_name(name: str, content_type: str, *, limit: int = 200) -> str:
    """Return a display name safe to show and download: printable, no bidi or control characters, and the
    extension of the type the bytes are (a PDF named `poly.html` is `poly.pdf`; `inv<U+202E>fdp.exe` is `invfdp.pdf`).
    """
    cleaned = "".join(
        " " if ch.isspace() else ch
        for ch in unicodedata.normalize("NFC", name or "")
        # Whitespace becomes a space; other Cc/Cf/Cs/Co/Cn and separators (controls, bidi overrides and
        # isolates, zero-width marks) and the characters file systems reserve are dropped.
        if ch.isspace() or (ch.isprintable() and unicodedata.category(ch)[0] != "Z" and ch not in _RESERVED)
    )
    cleaned = " ".join(cleaned.split()).strip(" .")
    extension = EXTENSIONS.get(content_type, "")
    stem, dot, suffix = cleaned.rpartition(".")
    if dot and 0 < len(suffix) <= 10 and " " not in suffix:
        if extension and f".{suffix.lower()}" in (extension, *_ALIASES.get(content_type, ())):
            extension = f".{suffix}"
        cleaned = stem.strip(" .")
    stem = cleaned[: max(1, limit - len(extension))] or "evidence"
    return f"{stem}{extension}"


class ArchiveRefused(ValueError):
    """A zip-based file whose directory cannot be read or that declares too much inside it."""


class ArchiveTooLarge(ArchiveRefused):
    """A zip-based file that declares more inflated bytes or parts than the limits."""


def check_archive(file: IO[bytes], *, max_inflated: int, max_entries: int) -> int:
    """Return the bytes a zip-based file declares it inflates to; raise ArchiveRefused over a limit or when unreadable.

    Nothing is inflated: the sizes come from the zip's central directory, which is what a reader that
    opens the file (a word processor, an indexer) will allocate for.
    """
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveRefused("the file is not a readable Office document (its zip directory is damaged)") from exc
    if len(entries) > max_entries:
        raise ArchiveTooLarge(f"the file holds {len(entries)} parts, over the limit of {max_entries}")
    inflated = sum(entry.file_size for entry in entries)
    if inflated > max_inflated:
        raise ArchiveTooLarge(f"the file inflates to {inflated} bytes, over the limit of {max_inflated}")
    return inflated
