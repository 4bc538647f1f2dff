"""An example `data` for any catalog event type, built from its published JSON Schema.

"Send a test event" in the console sends one of these: a payload with every required field of
the chosen type, shaped exactly as the real event is (it passes the same schema check), with
values that read as an example ("example", the current time, a fresh id).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from webhooks import catalog


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return _resolve(node, root)


def sample_value(schema: dict[str, Any], root: dict[str, Any] | None = None, name: str = "") -> Any:
    """Return a value valid against `schema` (objects with their required properties, first enum values)."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    combined = _combined(schema, root)
    if combined is not None:
        return sample_value(combined, root, name)
    kind = _kind(schema)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {key: sample_value(properties[key], root, key) for key in schema.get("required", []) if key in properties}
    if kind == "array":
        items = schema.get("items")
        count = max(1, int(schema.get("minItems", 1)))
        return [sample_value(items, root, name) for _ in range(count)] if isinstance(items, dict) else []
    if kind == "string":
        return _string(schema, name)
    return _SCALARS.get(str(kind), lambda _schema: None)(schema)


def _kind(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    return next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind


def _combined(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any] | None:
    """The one schema to sample for an anyOf/oneOf (its first non-null option) or an allOf (its parts merged)."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [option for option in schema[key] if _resolve(option, root).get("type") != "null"] or schema[key]
            return options[0]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root))
        return merged
    return None


_SCALARS: dict[str, Any] = {
    "integer": lambda schema: int(schema.get("minimum", 1)),
    "number": lambda schema: float(schema.get("minimum", 1)),
    "boolean": lambda schema: True,
    "null": lambda schema: None,
}

_FORMATS: dict[str, Any] = {
    "uuid": lambda: str(uuid.uuid4()),
    "date-time": lambda: datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
    "date": lambda: datetime.now(timezone.utc).date().isoformat(),
    "uri": lambda: "https://example.com/",
    "url": lambda: "https://example.com/",
    "email": lambda: "example@example.com",
}


def _string(schema: dict[str, Any], name: str) -> str:
    made = _FORMATS.get(str(schema.get("format")))
    if made is not None:
        return str(made())
    text = f"example {name}".strip() if name else "example"
    return text[: int(schema.get("maxLength", len(text)))]


def sample_data(event_type: str) -> dict[str, Any]:
    """Return an example `data` of a catalog event type."""
    schema = catalog.BY_NAME[catalog.canonical(event_type)].schema
    data = sample_value(schema)
    return data if isinstance(data, dict) else {}
