"""Unknown query parameters are refused: the parameters a route accepts are the ones its OpenAPI declares.

One source for both: the `parameters` of a handler's `@extend_schema` are what the document
publishes and what the request is checked against, so a filter can never be documented and
ignored, or accepted and undocumented.
"""
from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from skillhub.errors import ValidationFailed

_declared: dict[tuple[type, str], frozenset[str] | None] = {}


def _names(parameter: Any) -> list[str]:
    if isinstance(parameter, OpenApiParameter):
        return [parameter.name] if parameter.location == OpenApiParameter.QUERY and not parameter.response else []
    if isinstance(parameter, dict):
        return [parameter["name"]] if parameter.get("in") == "query" else []
    if inspect.isclass(parameter) and issubclass(parameter, serializers.Serializer):
        parameter = parameter()
    if isinstance(parameter, serializers.Serializer):
        return list(parameter.fields)
    return []


def declared_query_parameters(view: Any, method: str) -> frozenset[str] | None:
    """Return the query parameters the view's handler for `method` declares, or None when it declares none at all."""
    cache_key = (type(view), method)
    if cache_key not in _declared:
        handler = getattr(type(view), method.lower(), None)
        schema_class = getattr(handler, "kwargs", {}).get("schema")
        if schema_class is None:
            _declared[cache_key] = None
        else:
            schema = schema_class()
            schema.view, schema.method = view, method
            names = [name for parameter in schema.get_override_parameters() for name in _names(parameter)]
            _declared[cache_key] = frozenset(names)
    return _declared[cache_key]


def refuse_unknown_query_parameters(view: Any, request: Any) -> None:
    """Raise a 400 naming every query parameter the route does not declare."""
    method = request.method or "GET"
    if method == "HEAD":
        method = "GET"
    declared = declared_query_parameters(view, method)
    if declared is None:
        return
    unknown = [name for name in request.query_params if name not in declared]
    if unknown:
        raise ValidationFailed(
            {name: "Unknown query parameter" for name in unknown},
            message=f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
        )
