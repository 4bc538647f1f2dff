"""One pagination for every list: limit/offset plus an opaque keyset cursor for deep paging."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db.models import QuerySet
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from skillhub.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
# The largest offset accepted (JSON-safe, well inside a 64-bit integer).
MAX_OFFSET = 2**53 - 1
# Below this offset a plain OFFSET is cheapest; above it, page through the index alone first.
DEFERRED_JOIN_OFFSET = 1000


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int
    after: str | None  # the cursor's last key, when paging by cursor


def _encode_cursor(after: Any, offset: int) -> str:
    raw = orjson.dumps({"a": str(after), "o": offset})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        after, offset = data["a"], data["o"]
        # A key is short printable text; anything else was not made by us (NUL even breaks PostgreSQL).
        if not isinstance(after, str) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
            raise ValueError
        if not after or len(after) > 100 or not after.isprintable():
            raise ValueError
        return after, offset
    except (ValueError, KeyError, TypeError, UnicodeEncodeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise ValidationFailed({"cursor": "Invalid cursor; use the nextCursor of a previous page"}) from exc


def _non_negative_int(params: Any, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed({name: "must be an integer"}) from exc
    if value < 0:
        raise ValidationFailed({name: "must not be negative"})
    if value > MAX_OFFSET:  # beyond what a database integer holds; use the cursor to go deep
        raise ValidationFailed({name: f"must be at most {MAX_OFFSET}"})
    return value


def parse_page_request(params: Any) -> PageRequest:
    """Read `limit`, `offset` and `cursor` from query parameters; limits above 1000 are capped."""
    limit = _non_negative_int(params, "limit", DEFAULT_LIMIT)
    if limit == 0:
        raise ValidationFailed({"limit": f"must be between 1 and {MAX_LIMIT}"})
    limit = min(limit, MAX_LIMIT)
    cursor = params.get("cursor")
    if cursor:
        after, offset = _decode_cursor(cursor)
        return PageRequest(limit=limit, offset=offset, after=after)
    return PageRequest(limit=limit, offset=_non_negative_int(params, "offset", 0), after=None)


@dataclass
class Page:
    rows: list[Any]
    total: int
    limit: int
    offset: int
    has_more: bool
    next_cursor: str | None

    def body(self, data: list[Any]) -> dict[str, Any]:
        return {
            "data": data,
            "pagination": {"total": self.total, "limit": self.limit, "offset": self.offset, "hasMore": self.has_more},
            "nextCursor": self.next_cursor,
        }


def _key_value(queryset: QuerySet, key_field: str, raw: str) -> Any:
    """The cursor's key as the key field's type; ValueError when the database could not hold it."""
    field = queryset.model._meta.get_field(key_field)
    value = field.to_python(raw)
    internal = field.get_internal_type()
    if internal.endswith(("IntegerField", "AutoField")):
        low, high = connection.ops.integer_field_range(internal)
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{key_field} out of range")
    return value


def _key_of(row: Any, key_field: str) -> Any:
    return row[key_field] if isinstance(row, dict) else getattr(row, key_field)


def paginate(
    queryset: QuerySet,
    page_request: PageRequest,
    *,
    key_field: str = "id",
    total: int | Callable[[], int] | None = None,
    fetch: Callable[[str | None, int, int], list[Any]] | None = None,
) -> Page:
    """Return one page of `queryset`, which must be ordered by `key_field` ascending.

    A cursor page is a keyset query (`key > last`) and costs the same at any depth. `fetch`, when
    given, is a faster equivalent of the queryset for cursor and shallow pages:
    `fetch(after_key_or_None, offset, count) -> rows`.
    """
    limit, offset = page_request.limit, page_request.offset
    if page_request.after is not None:
        try:
            if fetch is not None:
                rows = fetch(page_request.after, 0, limit + 1)
            else:
                after = _key_value(queryset, key_field, page_request.after)
                rows = list(queryset.filter(**{f"{key_field}__gt": after})[: limit + 1])
        except (ValueError, TypeError, DjangoValidationError) as exc:  # a cursor made for another resource
            raise ValidationFailed({"cursor": "Invalid cursor; use the nextCursor of a previous page"}) from exc
    elif offset > DEFERRED_JOIN_OFFSET:
        keys = list(queryset.values_list(key_field, flat=True)[offset : offset + limit + 1])
        by_key = {_key_of(row, key_field): row for row in queryset.filter(**{f"{key_field}__in": keys})}
        rows = [by_key[k] for k in keys if k in by_key]
    elif fetch is not None:
        rows = fetch(None, offset, limit + 1)
    else:
        rows = list(queryset[offset : offset + limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not has_more and (rows or offset == 0):
        # The last page proves the exact total by itself.
        total = offset + len(rows)
    elif callable(total):
        total = total()
    elif total is None:
        total = queryset.count()
    next_cursor = _encode_cursor(_key_of(rows[-1], key_field), offset + len(rows)) if has_more and rows else None
    return Page(rows=rows, total=total, limit=limit, offset=offset, has_more=has_more, next_cursor=next_cursor)


def paginate_sequence(items: Sequence[Any], page_request: PageRequest, *, key: Callable[[Any], str]) -> Page:
    """Return one page of a fixed, ordered in-memory list, with the same envelope and cursor as a query."""
    start = page_request.offset
    if page_request.after is not None:
        keys = [key(item) for item in items]
        if page_request.after not in keys:
            raise ValidationFailed({"cursor": "Invalid cursor; use the nextCursor of a previous page"})
        start = keys.index(page_request.after) + 1
    rows = list(items[start : start + page_request.limit])
    has_more = start + len(rows) < len(items)
    next_cursor = _encode_cursor(key(rows[-1]), start + len(rows)) if has_more and rows else None
    return Page(
        rows=rows, total=len(items), limit=page_request.limit, offset=start, has_more=has_more, next_cursor=next_cursor
    )


class LimitOffsetCursorPagination(BasePagination):
    """DRF adapter around `paginate` for generic list views (ordering by `view.cursor_field`)."""

    page: Page | None = None

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:  # type: ignore[override]  # querysets only
        key_field = getattr(view, "cursor_field", "id")
        get_total = getattr(view, "get_total", None)
        self.page = paginate(
            queryset.order_by(key_field),
            parse_page_request(request.query_params),
            key_field=key_field,
            total=(lambda: get_total(queryset)) if get_total else None,
        )
        return self.page.rows

    def get_paginated_response(self, data: list[Any]) -> Response:
        assert self.page is not None
        return Response(self.page.body(data))

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return paginated_schema(schema)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return PAGE_PARAMETERS


def paginated_schema(item_schema: dict) -> dict:
    """Return the OpenAPI schema of a page of `item_schema`."""
    return {
        "type": "object",
        "required": ["data", "pagination"],
        "properties": {
            "data": item_schema,
            "pagination": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer", "example": 1523},
                    "limit": {"type": "integer", "example": 50},
                    "offset": {"type": "integer", "example": 100},
                    "hasMore": {"type": "boolean", "example": True},
                },
            },
            "nextCursor": {"type": ["string", "null"], "description": "Pass as ?cursor= for the next page"},
        },
    }


PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "default": 50, "maximum": 1000, "minimum": 1}},
    {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "default": 0, "minimum": 0, "maximum": MAX_OFFSET}},
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}, "description": "nextCursor of the previous page; constant cost at any depth"},
]


class PaginationInfo(serializers.Serializer):
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    hasMore = serializers.BooleanField()


def page_serializer(item: type[serializers.Serializer], **extra: serializers.Field) -> serializers.Serializer:
    """Return the documented page of `item` rows (the envelope of every list), plus any `extra` fields."""
    name = item.__name__.removesuffix("Serializer").removesuffix("Output") + "Page"
    fields = {
        "data": item(many=True),
        "pagination": PaginationInfo(),
        "nextCursor": serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page"),
        **extra,
    }
    return inline_serializer(name=name, fields=fields)


def _openapi_parameters() -> list:
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import OpenApiParameter

    return [
        OpenApiParameter("limit", {"type": "integer", "minimum": 1}, description="Page size, 1–1000 (default 50; larger values are capped)"),
        OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}, description="Rows to skip (default 0)"),
        OpenApiParameter("cursor", OpenApiTypes.STR, description="nextCursor of the previous page; constant cost at any depth"),
    ]


# For `@extend_schema(parameters=...)` on hand-written list views.
PAGE_OPENAPI_PARAMETERS = _openapi_parameters()
