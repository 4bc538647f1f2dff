"""What the skills-evidence views share: error responses for OpenAPI, lookups that 404, input helpers."""
from __future__ import annotations

import uuid
from typing import Any, Callable, TypeVar

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from learning.models import Course, Learner
from learning.selectors import course_get, learner_get
from skillhub.errors import ValidationFailed
from tenants.models import Tenant

T = TypeVar("T")

_ERROR = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(required=False),
            },
        )
    },
)
_ERROR_TEXT = {
    400: "VALIDATION_ERROR: every invalid field listed, nothing changed",
    401: "UNAUTHORIZED: missing, unknown, revoked or expired key",
    403: "FORBIDDEN: the key lacks the scope or the role",
    404: "NOT_FOUND: unknown id, or another tenant's",
    409: "CONFLICT",
    410: "GONE: the export expired",
    413: "PAYLOAD_TOO_LARGE: over the upload limit; nothing stored",
}


_PAGINATION = inline_serializer(
    name="PagePagination",
    fields={
        "total": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "hasMore": serializers.BooleanField(),
    },
)


def page_of(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """Return the OpenAPI shape of a page of `item` (the component is registered with it)."""
    return inline_serializer(
        name=name,
        fields={
            "data": item(many=True),
            "pagination": _PAGINATION,
            "nextCursor": serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page"),
        },
    )


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Return OpenAPI responses for these error statuses, all in the API error shape (401/403 always)."""
    return {code: OpenApiResponse(_ERROR, description=_ERROR_TEXT[code]) for code in sorted({401, 403, *codes})}


def found(value: T | None) -> T:
    """Return `value`, or answer 404 (also for another tenant's object)."""
    if value is None:
        raise Http404
    return value


def learner_ref(tenant: Tenant, raw: Any, field: str = "learnerId") -> Learner:
    learner = learner_get(tenant=tenant, learner_id=str(raw))
    if learner is None:
        raise ValidationFailed({field: "unknown learner"})
    return learner


def optional_ref(tenant: Tenant, raw: Any, getter: Callable[..., Any], field: str, label: str) -> Any:
    if raw in (None, ""):
        return None
    value = getter(tenant=tenant, **{f"{label}_id": str(raw)})
    if value is None:
        raise ValidationFailed({field: f"unknown {label}"})
    return value


def course_ref(tenant: Tenant, raw: Any) -> Course | None:
    return optional_ref(tenant, raw, course_get, "courseId", "course")


def uuid_param(params: Any, name: str) -> str | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise ValidationFailed({name: "must be a UUID"}) from exc


def choice_param(params: Any, name: str, choices: list[str]) -> str | None:
    raw = params.get(name)
    if raw and raw not in choices:
        raise ValidationFailed({name: f"must be one of {', '.join(choices)}"})
    return raw or None
