"""Scalar types of event data, annotated with the JSON Schema format they are published with."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import WithJsonSchema

# Instants are ISO 8601 strings in UTC with a `Z`, dates are `YYYY-MM-DD`.
DateTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Date = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
Uuid = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]
Url = Annotated[str, WithJsonSchema({"type": "string", "format": "uri"})]
Severity = Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 4})]
Rating = Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 5})]
JsonObject = Annotated[dict[str, Any], WithJsonSchema({"type": "object"})]
