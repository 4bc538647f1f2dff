"""Streaming evidence uploads: one file per request, counted and recognised chunk by chunk, kept in a temp file.

The upload handler refuses a body over the size limit as soon as it passes it (413) and bytes that
are no allowed type as soon as the first 16 KiB are in (400); a zip-based Office file whose directory
declares more inflated bytes than EVIDENCE_MAX_INFLATED_BYTES once it is whole (413; an unreadable
directory 400). Either way the temp file is removed and nothing reaches storage. The parser refuses a
file name that carries a path.
"""
from __future__ import annotations

import hashlib
import html
from typing import Any, Mapping

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, DataAndFiles

from learning.evidence.sniffing import SNIFF_BYTES, ZIP_BASED, ArchiveRefused, ArchiveTooLarge, check_archive, sniff
from skillhub.errors import DomainError, ValidationFailed

FILE_FIELD = "file"
# Parts a zip-based Office file may hold; real documents hold tens to a few thousand.
MAX_ARCHIVE_ENTRIES = 10_000


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413


class SniffedUpload(TemporaryUploadedFile):
    """An uploaded file in a temp file, with the type its bytes are and their SHA-256."""

    sniffed_type: str = ""
    sha256: str = ""


class EvidenceUploadHandler(FileUploadHandler):
    """Write the one `file` part to a temp file, enforcing the size limit and the type allow-list."""

    chunk_size = 64 * 1024

    def __init__(self, request: Any = None, *, max_bytes: int, allowed_types: list[str], max_inflated: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.max_inflated = max_inflated
        self.allowed_types = set(allowed_types)
        self.file: SniffedUpload | None = None
        self.size = 0
        self.head = bytearray()
        self.checked = False
        self.hasher = hashlib.sha256()

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != FILE_FIELD:
            raise ValidationFailed({field_name: f"files go in the `{FILE_FIELD}` field"})
        if self.file is not None:
            raise ValidationFailed({FILE_FIELD: "one file per upload"})
        self.file = SniffedUpload(file_name, "application/octet-stream", 0, None)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if self.size > self.max_bytes:
            self.discard()
            raise PayloadTooLarge(f"The file is over the {self.max_bytes} byte limit", field=FILE_FIELD)
        if not self.checked:
            self.head.extend(raw_data[: SNIFF_BYTES - len(self.head)])
            if len(self.head) >= SNIFF_BYTES:
                self._check_type()
        self.hasher.update(raw_data)
        assert self.file is not None
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> SniffedUpload | None:
        if self.file is None:
            return None
        if file_size == 0:
            self.discard()
            raise ValidationFailed({FILE_FIELD: "the file is empty"})
        if not self.checked:
            self._check_type()
        if self.file.sniffed_type in ZIP_BASED:
            self._check_archive()
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self.hasher.hexdigest()
        return self.file

    def upload_interrupted(self) -> None:
        self.discard()

    def _check_type(self) -> None:
        self.checked = True
        kind = sniff(bytes(self.head))
        if kind is None or kind not in self.allowed_types:
            self.discard()
            raise ValidationFailed(
                {FILE_FIELD: f"the file's content is not an allowed type ({', '.join(sorted(self.allowed_types))})"}
            )
        assert self.file is not None
        self.file.sniffed_type = kind
        self.file.content_type = kind

    def _check_archive(self) -> None:
        assert self.file is not None
        self.file.flush()
        self.file.seek(0)
        try:
            check_archive(self.file, max_inflated=self.max_inflated, max_entries=MAX_ARCHIVE_ENTRIES)
        except ArchiveTooLarge as exc:
            self.discard()
            raise PayloadTooLarge(str(exc).capitalize(), field=FILE_FIELD, reason=str(exc)) from exc
        except ArchiveRefused as exc:
            self.discard()
            raise ValidationFailed({FILE_FIELD: str(exc)}) from exc

    def discard(self) -> None:
        """Close and remove the temp file (TemporaryUploadedFile deletes itself on close)."""
        if self.file is not None:
            self.file.close()


class _PathRefusingMultiPartParser(MultiPartParser):
    def sanitize_file_name(self, file_name: str) -> str | None:
        raw = html.unescape(file_name)
        if "/" in raw or "\\" in raw or raw.strip() in {".", ".."} or (len(raw) > 1 and raw[1] == ":"):
            raise ValidationFailed({FILE_FIELD: "the file name must be a plain name, not a path"})
        return super().sanitize_file_name(file_name)


class EvidenceMultiPartParser(BaseParser):
    """DRF parser for evidence uploads: streams the file through EvidenceUploadHandler."""

    media_type = "multipart/form-data"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> DataAndFiles:
        parser_context = parser_context or {}
        request = parser_context["request"]
        encoding = parser_context.get("encoding") or settings.DEFAULT_CHARSET
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        handler = EvidenceUploadHandler(
            request,
            max_bytes=settings.EVIDENCE_MAX_UPLOAD_BYTES,
            allowed_types=settings.EVIDENCE_ALLOWED_TYPES,
            max_inflated=settings.EVIDENCE_MAX_INFLATED_BYTES,
        )
        try:
            data, files = _PathRefusingMultiPartParser(meta, stream, [handler], encoding).parse()
        except MultiPartParserError as exc:
            handler.discard()
            raise ParseError(f"Multipart form parse error - {exc}") from exc
        except Exception:
            handler.discard()
            raise
        return DataAndFiles(data, files)
