"""The one per-process memo: values read on every request, kept for a couple of seconds in each process.

Entries live a few seconds, so a change made in another process (a revoked key, a new learner
count, a new signal secret) is seen within that time; the process that makes a change drops its
entry at once. Values of None are never kept (a miss is asked again).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

_entries: dict[str, tuple[float, float, Any]] = {}  # key -> (loaded at, expires at, value)
_lock = threading.Lock()
_MAX_ENTRIES = 10_000


def get_or_load(key: str, ttl: float, load: Callable[[], Any]) -> Any:
    """Return the fresh local value for `key`, or load it."""
    return get_or_load_aged(key, ttl, load)[0]


def get_or_load_aged(key: str, ttl: float, load: Callable[[], Any]) -> tuple[Any, float]:
    """Return the value for `key` and its age in seconds (0.0 when it was just loaded)."""
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[1] > now:
        return entry[2], now - entry[0]
    return reload(key, ttl, load), 0.0


def reload(key: str, ttl: float, load: Callable[[], Any]) -> Any:
    """Load the value for `key` now and keep it for `ttl` seconds."""
    now = time.monotonic()
    value = load()
    if value is not None:
        with _lock:
            if len(_entries) >= _MAX_ENTRIES:
                _entries.clear()  # unbounded keys (random slugs) must not grow the memo
            _entries[key] = (now, now + ttl, value)
    return value


def peek(key: str) -> Any:
    """Return the fresh local value for `key` without loading, or None."""
    entry = _entries.get(key)
    return entry[2] if entry is not None and entry[1] > time.monotonic() else None


def forget(key: str) -> None:
    """Drop the local entry for `key`."""
    with _lock:
        _entries.pop(key, None)


def forget_prefix(prefix: str) -> None:
    """Drop every local entry whose key starts with `prefix`."""
    with _lock:
        for key in [key for key in _entries if key.startswith(prefix)]:
            del _entries[key]


def clear() -> None:
    """Drop every local entry (tests)."""
    with _lock:
        _entries.clear()
