"""The event catalog as Markdown: the README's and docs/webhooks.md's tables are rendered from here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from webhooks.catalog import EVENT_TYPES, EventType

START = "<!-- event-catalog:start (rendered by `python manage.py render_event_catalog`; do not edit) -->"
END = "<!-- event-catalog:end -->"
DOCUMENTS = ("README.md", "docs/webhooks.md")
_FORMATS = {"date-time": "datetime", "date": "date", "uuid": "uuid", "uri": "url"}


def _type_label(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_type_label(option) for option in schema["anyOf"])
    if "enum" in schema:
        return " or ".join(str(value) for value in schema["enum"])
    if "const" in schema:
        return str(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return _type_label(schema.get("items", {})) + "[]"
    if kind == "object" and "properties" in schema:
        return "{" + ", ".join(f"{name}: {_type_label(sub)}" for name, sub in schema["properties"].items()) + "}"
    if kind == "null":
        return "null"
    return _FORMATS.get(schema.get("format", ""), str(kind))


def data_summary(event_type: EventType) -> str:
    """Return one line naming every field of the type's `data` and its type."""
    properties = event_type.schema.get("properties", {})
    return ", ".join(f"`{name}` {_type_label(schema)}" for name, schema in properties.items())


def catalog_table() -> str:
    """Return the Markdown table of every event type: name, aliases, whether it is sent yet, meaning, data."""
    rows = [
        f"| `{item.name}` | {' '.join(f'`{alias}`' for alias in item.aliases)} | {'yes' if item.sent else 'not yet'} "
        f"| {item.description} | {data_summary(item)} |"
        for item in EVENT_TYPES
    ]
    return "\n".join(["| type | document 001 alias | sent | when | `data` |", "|---|---|---|---|---|", *rows])


def render_into(text: str) -> str:
    """Return `text` with the block between the catalog markers replaced by the current table."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError("the document has no event-catalog markers")
    return pattern.sub(lambda _: f"{START}\n{catalog_table()}\n{END}", text)


def stale_documents(root: Path) -> list[str]:
    """Return the documents under `root` whose catalog table differs from the catalog."""
    return [name for name in DOCUMENTS if (root / name).read_text() != render_into((root / name).read_text())]
