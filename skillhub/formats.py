"""How every API and webhook representation writes times: ISO 8601, UTC as `Z`."""
from __future__ import annotations

from datetime import date, datetime


def iso(value: datetime | date | None) -> str | None:
    """Return `value` as ISO 8601 (`…Z` for UTC datetimes), or None."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")
