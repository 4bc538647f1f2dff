"""Collect static files when the apps' files changed since the last collection, and only then."""
from __future__ import annotations

import hashlib
import os
from typing import Any, Callable

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command

FINGERPRINT_NAME = ".skillhub-static-fingerprint"


def source_fingerprint() -> str:
    """Return a digest of every static source file's path, size and modification time, and the storage."""
    storages: Any = settings.STORAGES
    digest = hashlib.sha256(str(storages["staticfiles"]["BACKEND"]).encode())
    for finder in get_finders():
        for relative, storage in sorted(finder.list([]), key=lambda item: item[0]):
            stat = os.stat(storage.path(relative))
            digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def collect_if_needed(log: Callable[[str], None]) -> bool:
    """Run `collectstatic` into STATIC_ROOT unless it already holds these sources; say whether it ran."""
    marker = settings.STATIC_ROOT / FINGERPRINT_NAME
    fingerprint = source_fingerprint()
    if marker.exists() and marker.read_text().strip() == fingerprint:
        return False
    log(f"collecting static files into {settings.STATIC_ROOT} …")
    call_command("collectstatic", interactive=False, verbosity=0, clear=marker.exists())
    marker.write_text(fingerprint)
    return True
