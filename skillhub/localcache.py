"""A tiny per-process cache in front of the shared one, for values read on every API request.

Entries live a couple of seconds, so a change made in another process (a revoked key, a new
learner count) is seen within that time; the process that makes a change drops its entry at once.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

_entries: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()
_MAX_ENTRIES = 10_000


def get_or_load(key: str, ttl: float, load: Callable[[], Any]) -> Any:
    """Return the fresh local value for `key`, or load it (None is not kept)."""
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    value = load()
    if value is not None:
        with _lock:
            if len(_entries) >= _MAX_ENTRIES:
                _entries.clear()
            _entries[key] = (now + ttl, value)
    return value


def forget(key: str) -> None:
    """Drop the local entry for `key`."""
    with _lock:
        _entries.pop(key, None)


def clear() -> None:
    """Drop every local entry (tests)."""
    with _lock:
        _entries.clear()
