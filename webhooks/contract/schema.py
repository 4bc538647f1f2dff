"""JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) from the contract's TypedDicts, and validation against it."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import TypeAdapter


class EventDataMismatch(ValueError):
    """Event data that does not match its type's published schema."""


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace every `$ref` into `$defs` by the definition, so each schema stands alone anywhere it is embedded."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(copy.deepcopy(defs[ref.rsplit("/", 1)[-1]]), defs)
        # Drop pydantic's "title" annotations (strings), never a property that happens to be named "title".
        return {
            key: _inline(value, defs)
            for key, value in node.items()
            if key != "$defs" and not (key == "title" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _close(node: Any) -> None:
    """Forbid keys the contract does not name: a receiver can rely on the list being complete."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for item in node:
            _close(item)


@lru_cache(maxsize=None)
def _schema(data_type: type) -> dict[str, Any]:
    raw = TypeAdapter(data_type).json_schema()
    schema = _inline(raw, raw.get("$defs", {}))
    _close(schema)
    return schema


def json_schema(data_type: type) -> dict[str, Any]:
    """Return the self-contained JSON Schema of a contract TypedDict (a fresh copy, safe to change)."""
    return copy.deepcopy(_schema(data_type))


# API answers whose shape is a contract type, published as OpenAPI components under these names.
_API_COMPONENTS: dict[str, type] = {}


def api_component(name: str, data_type: type) -> dict[str, str]:
    """Publish a contract TypedDict as the OpenAPI component `name` of the API; return a reference to it.

    An API answer that is the same shape as an event's data (a learner, an assignment) is declared
    once, by the contract type: the view documents its answer with the returned `$ref`, and
    `webhooks.openapi.add_contract_components` writes the component from the type's JSON Schema.
    """
    known = _API_COMPONENTS.setdefault(name, data_type)
    if known is not data_type:
        raise ValueError(f"API component {name} is already {known.__name__}")
    return {"$ref": f"#/components/schemas/{name}"}


def api_components() -> dict[str, dict[str, Any]]:
    """Return the JSON Schema of every published API component, by name."""
    return {name: json_schema(data_type) for name, data_type in sorted(_API_COMPONENTS.items())}


@lru_cache(maxsize=None)
def _validator(data_type: type) -> Draft202012Validator:
    return Draft202012Validator(_schema(data_type), format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate(data_type: type, data: Any, *, label: str = "data") -> None:
    """Raise EventDataMismatch naming every place where `data` breaks the schema of `data_type`."""
    errors = sorted(_validator(data_type).iter_errors(data), key=lambda error: list(error.absolute_path))
    if errors:
        where = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:10])
        raise EventDataMismatch(f"{label} does not match its schema: {where}")
