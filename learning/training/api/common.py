"""What every training API view shares: filters, lookups and the view factories (error answers are documented by the kernel's OpenAPI hook)."""
from __future__ import annotations

from typing import Any, Callable

import django_filters
from django.db.models import Model
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from learning.training import selectors
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, page_serializer, paginate, parse_page_request
from tenants.api.views import TenantApiView
from tenants.models import Tenant


class TrainingFilter(django_filters.FilterSet):
    """Every training list filters on `updatedSince` (incremental sync)."""

    updatedSince = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")


def filter_parameters(filterset: type[django_filters.FilterSet]) -> list[OpenApiParameter]:
    """Document a filter set's query parameters."""
    kinds = {
        django_filters.IsoDateTimeFilter: (str, "ISO 8601 date-time"),
        django_filters.UUIDFilter: (str, "id"),
        django_filters.BooleanFilter: (bool, ""),
        django_filters.NumberFilter: (int, ""),
    }
    parameters = []
    for name, item in filterset.base_filters.items():
        kind, hint = kinds.get(type(item), (str, ""))
        label = str(item.label or "")
        parameters.append(OpenApiParameter(name, kind, description=" ".join(p for p in (label, hint) if p)))
    return parameters


def filtered(request: Request, rows: Any, filterset: type[django_filters.FilterSet]) -> Any:
    """Apply the filters named in the query string; an invalid value is a 400."""
    params = {key: value for key, value in request.query_params.items() if key in filterset.base_filters}
    if not params:
        return rows
    bound = filterset(params, queryset=rows)
    if not bound.is_valid():
        raise ValidationError(bound.errors)
    return bound.qs.order_by("id")


def lookup(model: type[Model], tenant: Tenant, pk: Any) -> Any:
    """Return the tenant's row or raise 404."""
    found = selectors.get(model, tenant=tenant, pk=pk)
    if found is None:
        raise Http404
    return found


def related(model: type[Model], tenant: Tenant, pk: Any, field: str) -> Any:
    """Return the tenant's row named by an id in the body, None for null, or raise a 400 naming the field."""
    if pk is None or pk == "":
        return None
    found = selectors.get(model, tenant=tenant, pk=pk)
    if found is None:
        raise ValidationError({field: [f"unknown {field.removesuffix('Id')}"]})
    return found


def list_create_view(
    *,
    name: str,
    model: type[Model],
    scope: str,
    output: type[serializers.Serializer],
    filterset: type[django_filters.FilterSet],
    input_: type[serializers.Serializer] | None = None,
    create: Callable[[TenantApiView, dict[str, Any]], Model] | None = None,
    doc: str = "",
    write_action: str = "",
) -> type[TenantApiView]:
    """Build the view of a collection: a filtered, paged list, and create when `create` is given."""
    page = page_serializer(output)

    class View(TenantApiView):
        @extend_schema(
            operation_id=f"{name}_list",
            summary=f"List {name.replace('_', ' ')}",
            parameters=filter_parameters(filterset) + PAGE_OPENAPI_PARAMETERS,
            responses={200: page},
        )
        def get(self, request: Request, slug: str) -> Response:
            page_request = parse_page_request(request.query_params)
            rows = filtered(request, selectors.queryset(model, tenant=self.tenant), filterset)
            result = paginate(rows, page_request)
            return Response(result.body(list(output(result.rows, many=True).data)))

    View.scope = scope
    if write_action:  # the role-table action of its writes, when not `<scope>.write`
        View.actions = {"POST": write_action}
    View.__doc__ = doc or f"List the tenant's {name.replace('_', ' ')}."
    View.__name__ = View.__qualname__ = "".join(part.title() for part in name.split("_")) + "ListApi"
    if create is not None and input_ is not None:

        @extend_schema(
            operation_id=f"{name}_create",
            summary=f"Create {name.replace('_', ' ')}",
            request=input_,
            responses={201: output},
        )
        def post(self: TenantApiView, request: Request, slug: str) -> Response:
            data = input_(data=request.data)
            data.is_valid(raise_exception=True)
            created = create(self, data.validated_data)
            return Response(output(created).data, status=status.HTTP_201_CREATED)

        View.post = post  # type: ignore[attr-defined]
    return View


def detail_view(
    *,
    name: str,
    model: type[Model],
    scope: str,
    output: type[serializers.Serializer],
    input_: type[serializers.Serializer] | None = None,
    update: Callable[[Any, dict[str, Any]], Model] | None = None,
    delete: Callable[[Any], None] | None = None,
    doc: str = "",
    write_action: str = "",
) -> type[TenantApiView]:
    """Build the view of one row: read, and change (PATCH) or delete when those are given."""

    class View(TenantApiView):
        @extend_schema(operation_id=f"{name}_read", summary=f"Read one of {name.replace('_', ' ')}", responses={200: output})
        def get(self, request: Request, slug: str, pk: str) -> Response:
            return Response(output(lookup(model, self.tenant, pk)).data)

    View.scope = scope
    if write_action:
        View.actions = {"PATCH": write_action, "PUT": write_action, "DELETE": write_action}
    View.__doc__ = doc or f"Read one of the tenant's {name.replace('_', ' ')}."
    View.__name__ = View.__qualname__ = "".join(part.title() for part in name.split("_")) + "DetailApi"
    if update is not None and input_ is not None:

        @extend_schema(
            operation_id=f"{name}_update",
            summary=f"Change one of {name.replace('_', ' ')}",
            request=input_,
            responses={200: output},
        )
        def patch(self: TenantApiView, request: Request, slug: str, pk: str) -> Response:
            row = lookup(model, self.tenant, pk)
            data = input_(data=request.data, partial=True)
            data.is_valid(raise_exception=True)
            return Response(output(update(row, data.validated_data)).data)

        View.patch = patch  # type: ignore[attr-defined]
    if delete is not None:

        @extend_schema(
            operation_id=f"{name}_delete",
            summary=f"Delete one of {name.replace('_', ' ')}",
            responses={204: None},
        )
        def delete_(self: TenantApiView, request: Request, slug: str, pk: str) -> Response:
            delete(lookup(model, self.tenant, pk))
            return Response(status=status.HTTP_204_NO_CONTENT)

        View.delete = delete_  # type: ignore[attr-defined]
    return View
