"""Time-ordered identifiers, so primary keys double as a stable, index-friendly sort order."""
from __future__ import annotations

import os
import time
import uuid
from datetime import datetime
from typing import Any


def uuid7() -> uuid.UUID:
    """Return a UUID version 7: 48 bits of Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """Return the smallest UUID version 7 of `moment`'s millisecond: every id made at or after it sorts after."""
    millis = int(moment.timestamp() * 1000)
    return uuid.UUID(int=((millis & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (0b10 << 62))


def prefixed_floor(prefix: str, moment: datetime) -> str:
    """Return the id bound of `moment` for ids like `prefixed_id(prefix)`: older ids sort below it."""
    return f"{prefix}_{uuid7_floor(moment).hex}"


def prefixed_id(prefix: str) -> str:
    """Return a sortable public id such as `evt_0192…` for events, signals and the like."""
    return f"{prefix}_{uuid7().hex}"


def uuid_or_none(value: Any) -> uuid.UUID | None:
    """Return `value` as a UUID, or None when it is not one (an id from a URL or a filter)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None
