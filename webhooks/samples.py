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
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [option for option in schema[key] if _resolve(option, root).get("type") != "null"] or schema[key]
            return sample_value(options[0], root, name)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root))
        return sample_value(merged, root, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {key: sample_value(properties[key], root, key) for key in schema.get("required", []) if key in properties}
    if kind == "array":
        items = schema.get("items")
        count = max(1, int(schema.get("minItems", 1)))
        return [sample_value(items, root, name) for _ in range(count)] if isinstance(items, dict) else []
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        if fmt == "date":
            return datetime.now(timezone.utc).date().isoformat()
        if fmt in ("uri", "url"):
            return "https://example.com/"
        if fmt == "email":
            return "example@example.com"
        text = f"example {name}".strip() if name else "example"
        return text[: int(schema.get("maxLength", len(text)))]
    return None


def sample_data(event_type: str) -> dict[str, Any]:
    """Return an example `data` of a catalog event type."""
    schema = catalog.BY_NAME[catalog.canonical(event_type)].schema
    data = sample_value(schema)
    return data if isinstance(data, dict) else {}
