"""A JSON renderer on orjson: list pages dominate API time, and orjson is several times faster."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Mapping

import orjson
from rest_framework.renderers import BaseRenderer


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    """Serialise API data: UTC datetimes end in Z, UUIDs become strings."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None) -> bytes:
        if data is None:
            return b""
        return dumps(data)


__all__ = ["OrjsonRenderer", "dumps", "uuid"]
