"""Learner endpoints: thin views that parse, call a service or selector, and answer."""
from __future__ import annotations

from typing import Any

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from learning.models import Learner, LearnerStatus
from learning.selectors import (
    LEARNER_VALUE_FIELDS,
    learner_get,
    learner_json,
    learner_queryset,
    learner_row_json,
    learner_total,
)
from learning.services import LEARNER_FIELDS, learner_create, learner_delete, learner_update
from learning.validators import sa_id_number_problem
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, paginate, paginated_schema, parse_page_request
from skillhub.api.views import TenantApiView


class LearnerFilter(django_filters.FilterSet):
    updatedSince = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    email = django_filters.CharFilter(method="filter_email")
    externalWorkerId = django_filters.CharFilter(field_name="external_worker_id")
    site = django_filters.CharFilter(field_name="site__name")
    status = django_filters.ChoiceFilter(choices=LearnerStatus.choices)
    group = django_filters.UUIDFilter(field_name="groups__id")

    class Meta:
        model = Learner
        fields: list[str] = []

    def filter_email(self, queryset, name, value):  # noqa: ANN001, ANN201
        return queryset.filter(email=value.strip().lower())


def _sa_id_validator(value: str) -> None:
    problem = sa_id_number_problem(value) if value else None
    if problem:
        raise serializers.ValidationError(problem)


class LearnerInputSerializer(serializers.Serializer):
    firstName = serializers.CharField(max_length=100)
    lastName = serializers.CharField(max_length=100)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, allow_null=True)
    externalWorkerId = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    saIdNumber = serializers.CharField(
        max_length=13, required=False, allow_blank=True, allow_null=True, validators=[_sa_id_validator]
    )
    site = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    role = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    status = serializers.ChoiceField(choices=LearnerStatus.values, required=False)
    groups = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=500)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) and not hasattr(data, "getlist"):
            raise ValidationError({"non_field_errors": ["Expected a JSON object"]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise ValidationError({name: ["Unknown field"] for name in unknown})
        return super().to_internal_value(data)


class LearnerOutputSerializer(serializers.Serializer):
    """The learner as the API and the learner.* webhooks show it."""

    id = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    firstName = serializers.CharField()
    lastName = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    externalWorkerId = serializers.CharField(allow_null=True)
    saIdNumber = serializers.CharField(allow_null=True)
    site = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=LearnerStatus.values)
    groups = serializers.ListField(child=serializers.UUIDField())
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


def _model_values(validated: dict[str, Any]) -> dict[str, Any]:
    return {LEARNER_FIELDS[key]: value for key, value in validated.items()}


FILTER_PARAMETERS = [
    OpenApiParameter("updatedSince", str, description="ISO 8601; learners changed at or after it"),
    OpenApiParameter("email", str),
    OpenApiParameter("externalWorkerId", str),
    OpenApiParameter("site", str, description="Site name"),
    OpenApiParameter("status", str, enum=LearnerStatus.values),
    OpenApiParameter("group", str, description="Group id"),
]


class LearnerListCreateApi(TenantApiView):
    """List the tenant's learners, or create one."""

    scope = "learners"

    @extend_schema(
        operation_id="learners_list",
        parameters=FILTER_PARAMETERS + PAGE_OPENAPI_PARAMETERS,
        responses={200: paginated_schema({"type": "array", "items": {"$ref": "#/components/schemas/LearnerOutput"}})},
    )
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        queryset = learner_queryset(tenant=self.tenant)
        filters = {k: v for k, v in request.query_params.items() if k in LearnerFilter.base_filters}
        if filters:
            filterset = LearnerFilter(filters, queryset=queryset)
            if not filterset.is_valid():
                raise ValidationError(filterset.errors)
            queryset = filterset.qs.order_by("id")
            total = None
        else:
            total = lambda: learner_total(tenant=self.tenant)  # noqa: E731
        page = paginate(queryset.values(*LEARNER_VALUE_FIELDS), page_request, total=total)
        return Response(page.body([learner_row_json(row) for row in page.rows]))

    @extend_schema(operation_id="learners_create", request=LearnerInputSerializer, responses={201: LearnerOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        serializer = LearnerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        learner = learner_create(tenant=self.tenant, values=_model_values(serializer.validated_data))
        return Response(learner_json(learner), status=status.HTTP_201_CREATED)


class LearnerDetailApi(TenantApiView):
    """Read, change or delete one learner."""

    scope = "learners"

    def _learner(self, learner_id: str) -> Learner:
        learner = learner_get(tenant=self.tenant, learner_id=learner_id)
        if learner is None:
            raise Http404
        return learner

    @extend_schema(operation_id="learners_read", responses={200: LearnerOutputSerializer})
    def get(self, request: Request, slug: str, learner_id: str) -> Response:
        return Response(learner_json(self._learner(learner_id)))

    @extend_schema(operation_id="learners_update", request=LearnerInputSerializer, responses={200: LearnerOutputSerializer})
    def patch(self, request: Request, slug: str, learner_id: str) -> Response:
        learner = self._learner(learner_id)
        serializer = LearnerInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        learner = learner_update(learner=learner, values=_model_values(serializer.validated_data))
        return Response(learner_json(learner))

    @extend_schema(operation_id="learners_delete", responses={204: None})
    def delete(self, request: Request, slug: str, learner_id: str) -> Response:
        learner_delete(learner=self._learner(learner_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
