"""Where evidence and export files live: Django's storage API (STORAGES["default"]), under names we choose."""
from __future__ import annotations

import logging
from typing import IO

from django.core.files import File
from django.core.files.storage import Storage, storages

from learning.evidence.sniffing import EXTENSIONS

logger = logging.getLogger("skillhub.evidence")


def file_storage() -> Storage:
    """Return the configured storage backend (local files by default, S3 or any other by setting)."""
    return storages["default"]


def evidence_name(*, tenant_id: object, evidence_id: object, content_type: str) -> str:
    """Return the storage name of an evidence file: ours alone, never anything the client sent."""
    return f"evidence/{tenant_id}/{evidence_id}{EXTENSIONS.get(content_type, '')}"


def export_name(*, tenant_id: object, export_id: object, attempt: int) -> str:
    """Return the storage name of an export file (one per attempt, so a restarted run never appends)."""
    return f"exports/{tenant_id}/{export_id}-{attempt}.csv"


def save(name: str, content: IO[bytes]) -> str:
    """Stream `content` into storage under `name`; return the name the backend used."""
    return file_storage().save(name, content if isinstance(content, File) else File(content, name=name))


def open_stored(name: str) -> IO[bytes]:
    """Open a stored file for reading, in chunks."""
    return file_storage().open(name, "rb")


def delete_quietly(name: str) -> None:
    """Delete a stored file; a file already gone is fine, other failures are logged for the next sweep."""
    if not name:
        return
    try:
        file_storage().delete(name)
    except FileNotFoundError:
        return
    except Exception:  # a storage outage must not undo the database change; the sweep retries
        logger.exception("could not delete stored file %s", name)
