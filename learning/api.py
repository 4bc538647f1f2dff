"""Learner, course and assignment endpoints: thin views that parse, call a service or selector, and answer."""
from __future__ import annotations

from typing import Any

import django_filters
import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.exceptions import ParseError, UnsupportedMediaType, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from learning.bulk import MAX_ROWS, learners_bulk_upsert
from learning.models import Assignment, AssignmentStatus, Course, CourseStatus, Learner, LearnerStatus
from learning.selectors import (
    assignment_get,
    assignment_json,
    assignment_queryset,
    course_get,
    course_json,
    course_queryset,
    learner_get,
    learner_json,
    learner_list_row_json,
    learner_list_values,
    learner_page_fetcher,
    learner_queryset,
    learner_total,
)
from learning.serializers import AssignmentOutput, CourseOutput
from learning.services import (
    LEARNER_FIELDS,
    assignment_complete,
    assignment_create,
    course_create,
    course_publish,
    course_update,
    learner_create,
    learner_delete,
    learner_update,
)
from learning.validators import sa_id_number_problem
from skillhub.api.pagination import PAGE_OPENAPI_PARAMETERS, page_serializer, paginate, paginated_schema, parse_page_request
from skillhub.api.serializers import StrictSerializer
from tenants.api.views import TenantApiView
from webhooks.contract.core import LearnerData
from webhooks.contract.schema import api_component


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

    def filter_email(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(email=value.strip().lower())


def _sa_id_validator(value: str) -> None:
    problem = sa_id_number_problem(value) if value else None
    if problem:
        raise serializers.ValidationError(problem)


class LearnerInputSerializer(StrictSerializer):
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


# The learner as the API and the learner.* webhooks show it: the contract's type, declared once.
LEARNER_OUTPUT = api_component("LearnerOutput", LearnerData)


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
        responses={200: paginated_schema({"type": "array", "items": LEARNER_OUTPUT})},
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
            total, fetch = None, None
        else:
            total = lambda: learner_total(tenant=self.tenant)  # noqa: E731
            fetch = learner_page_fetcher(tenant=self.tenant)
        page = paginate(learner_list_values(queryset), page_request, total=total, fetch=fetch)
        tenant_id = str(self.tenant.pk)
        return Response(page.body([learner_list_row_json(row, tenant_id) for row in page.rows]))

    @extend_schema(operation_id="learners_create", request=LearnerInputSerializer, responses={201: LEARNER_OUTPUT})
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

    @extend_schema(operation_id="learners_read", responses={200: LEARNER_OUTPUT})
    def get(self, request: Request, slug: str, learner_id: str) -> Response:
        return Response(learner_json(self._learner(learner_id)))

    @extend_schema(operation_id="learners_update", request=LearnerInputSerializer, responses={200: LEARNER_OUTPUT})
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


class LearnerBulkRowSerializer(serializers.Serializer):
    """One row of a bulk import: matched by externalWorkerId, then email; only the fields given change."""

    firstName = serializers.CharField(max_length=100, required=False, help_text="Required when the row creates a learner")
    lastName = serializers.CharField(max_length=100, required=False, help_text="Required when the row creates a learner")
    email = serializers.EmailField(max_length=254, required=False, allow_null=True)
    externalWorkerId = serializers.CharField(max_length=100, required=False, allow_null=True)
    saIdNumber = serializers.CharField(max_length=13, required=False, allow_null=True)
    site = serializers.CharField(max_length=200, required=False, allow_null=True)
    role = serializers.CharField(max_length=100, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=LearnerStatus.values, required=False)


class LearnerBulkInputSerializer(serializers.Serializer):
    learners = serializers.ListField(child=LearnerBulkRowSerializer(), max_length=MAX_ROWS)


class LearnerBulkErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class LearnerBulkResultSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based position of the row in `learners`")
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    id = serializers.UUIDField(allow_null=True)
    changedFields = serializers.ListField(child=serializers.CharField(), required=False)
    error = LearnerBulkErrorSerializer(required=False, help_text="The API error shape (docs/contract.md, section 2), for this row alone")


class LearnerBulkSummarySerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()


class LearnerBulkOutputSerializer(serializers.Serializer):
    dryRun = serializers.BooleanField()
    summary = LearnerBulkSummarySerializer()
    results = LearnerBulkResultSerializer(many=True)


def _read_json_body(request: Request, *, limit: int) -> Any:
    """Parse a JSON body of up to `limit` bytes (past Django's form-sized DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    if request.content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(request.content_type)
    raw = request._request.read(limit + 1)
    if len(raw) > limit:
        raise RequestDataTooBig(f"Request body over {limit} bytes")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"JSON parse error - {exc}") from exc


class LearnerBulkApi(TenantApiView):
    """Create or update up to 10,000 learners in one call, one result per row; counts once against the rate limit."""

    scope = "learners"
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="learners_bulk_upsert",
        parameters=[OpenApiParameter("dryRun", bool, description="Check and match every row, write nothing")],
        request={"application/json": LearnerBulkInputSerializer},
        responses={200: LearnerBulkOutputSerializer},
        description=(
            "Each row is matched to a learner by `externalWorkerId`, then by `email`: a match is updated with the "
            "fields the row gives, no match is created (`firstName` and `lastName` then required). Every row is "
            "written whole or not at all; a row that fails gets its own error and the others are still written. "
            "A row that changes nothing writes nothing and records no event, so re-sending the same rows is harmless."
        ),
    )
    def post(self, request: Request, slug: str) -> Response:
        body = _read_json_body(request, limit=settings.LEARNER_BULK_MAX_BODY_BYTES)
        rows = body.get("learners") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise ValidationError({"learners": ["Expected a list of learner rows"]})
        unknown = sorted(set(body) - {"learners"})
        if unknown:
            raise ValidationError({name: ["Unknown field"] for name in unknown})
        if len(rows) > MAX_ROWS:
            raise ValidationError({"learners": [f"At most {MAX_ROWS} rows per call"]})
        dry_run = request.query_params.get("dryRun", "").lower() in ("1", "true", "yes")
        outcome = learners_bulk_upsert(tenant=self.tenant, rows=rows, dry_run=dry_run)
        return Response(outcome.as_json())


# --- courses and assignments ------------------------------------------------------------


class CourseInputSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    topic = serializers.CharField(max_length=200, required=False, allow_blank=True)
    category = serializers.CharField(max_length=100, required=False, allow_blank=True)
    outline = serializers.JSONField(required=False)
    publish = serializers.BooleanField(required=False, default=False)


class CourseListCreateApi(TenantApiView):
    """List the tenant's courses (filter by status), or create one (a draft unless publish is true)."""

    scope = "courses"

    @extend_schema(operation_id="courses_list", parameters=[OpenApiParameter("status", str, enum=CourseStatus.values)] + PAGE_OPENAPI_PARAMETERS, responses={200: page_serializer(CourseOutput)})
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        status_filter = request.query_params.get("status")
        if status_filter and status_filter not in CourseStatus.values:
            raise ValidationError({"status": [f"must be one of {', '.join(CourseStatus.values)}"]})
        page = paginate(course_queryset(tenant=self.tenant, status=status_filter), page_request)
        return Response(page.body([course_json(c) for c in page.rows]))

    @extend_schema(operation_id="courses_create", request=CourseInputSerializer, responses={201: CourseOutput})
    def post(self, request: Request, slug: str) -> Response:
        data = CourseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        course = course_create(
            tenant=self.tenant,
            title=values["title"],
            topic=values.get("topic", ""),
            category=values.get("category", ""),
            outline=values.get("outline") or {},
            created_by=str(request.user),
        )
        if values.get("publish"):
            course = course_publish(course=course)
        return Response(course_json(course), status=status.HTTP_201_CREATED)


class CourseDetailApi(TenantApiView):
    """Read or change one course (title, topic, category, outline)."""

    scope = "courses"

    def _course(self, course_id: str) -> Course:
        course = course_get(tenant=self.tenant, course_id=course_id)
        if course is None:
            raise Http404
        return course

    @extend_schema(operation_id="courses_read", responses={200: CourseOutput})
    def get(self, request: Request, slug: str, course_id: str) -> Response:
        return Response(course_json(self._course(course_id)))

    @extend_schema(operation_id="courses_update", request=CourseInputSerializer, responses={200: CourseOutput})
    def patch(self, request: Request, slug: str, course_id: str) -> Response:
        course = self._course(course_id)
        data = CourseInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k != "publish"}
        course = course_update(course=course, values=values)
        if data.validated_data.get("publish"):
            course = course_publish(course=course)
        return Response(course_json(course))


class CoursePublishApi(TenantApiView):
    """Publish a course so it can be assigned and matched to training needs."""

    scope = "courses"

    @extend_schema(operation_id="courses_publish", request=None, responses={200: CourseOutput})
    def post(self, request: Request, slug: str, course_id: str) -> Response:
        course = course_get(tenant=self.tenant, course_id=course_id)
        if course is None:
            raise Http404
        return Response(course_json(course_publish(course=course)))


class AssignmentInputSerializer(StrictSerializer):
    learnerId = serializers.CharField(max_length=64)
    courseId = serializers.CharField(max_length=64)
    dueDate = serializers.DateField(required=False, allow_null=True)


class AssignmentListCreateApi(TenantApiView):
    """List assignments (filter by learnerId, courseId, status), or assign a published course to a learner."""

    scope = "enrollments"

    @extend_schema(
        operation_id="assignments_list",
        parameters=[
            OpenApiParameter("learnerId", str),
            OpenApiParameter("courseId", str),
            OpenApiParameter("status", str, enum=AssignmentStatus.values),
        ]
        + PAGE_OPENAPI_PARAMETERS,
        responses={200: page_serializer(AssignmentOutput)},
    )
    def get(self, request: Request, slug: str) -> Response:
        page_request = parse_page_request(request.query_params)
        queryset = assignment_queryset(tenant=self.tenant)
        params = request.query_params
        for param, field in (("learnerId", "learner_id"), ("courseId", "course_id")):
            if params.get(param):
                pk = _uuid_or_400(params[param], param)
                queryset = queryset.filter(**{field: pk})
        if params.get("status"):
            if params["status"] not in AssignmentStatus.values:
                raise ValidationError({"status": [f"must be one of {', '.join(AssignmentStatus.values)}"]})
            queryset = queryset.filter(status=params["status"])
        page = paginate(queryset, page_request)
        return Response(page.body([assignment_json(a) for a in page.rows]))

    @extend_schema(
        operation_id="assignments_create",
        request=AssignmentInputSerializer,
        responses={201: AssignmentOutput, 200: OpenApiResponse(AssignmentOutput, description="Already assigned: the live assignment")},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = AssignmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        learner = learner_get(tenant=self.tenant, learner_id=values["learnerId"])
        course = course_get(tenant=self.tenant, course_id=values["courseId"])
        if learner is None:
            raise ValidationError({"learnerId": ["unknown learner"]})
        if course is None:
            raise ValidationError({"courseId": ["unknown course"]})
        assignment, created = assignment_create(
            tenant=self.tenant, learner=learner, course=course, due_date=values.get("dueDate"), assigned_by=str(request.user)
        )
        return Response(assignment_json(assignment), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class AssignmentDetailApi(TenantApiView):
    """Read one assignment."""

    scope = "enrollments"

    def _assignment(self, assignment_id: str) -> Assignment:
        assignment = assignment_get(tenant=self.tenant, assignment_id=assignment_id)
        if assignment is None:
            raise Http404
        return assignment

    @extend_schema(operation_id="assignments_read", responses={200: AssignmentOutput})
    def get(self, request: Request, slug: str, assignment_id: str) -> Response:
        return Response(assignment_json(self._assignment(assignment_id)))


class AssignmentCompleteApi(TenantApiView):
    """Mark an assignment completed (records course.completed; may resolve the training need behind it)."""

    scope = "enrollments"

    @extend_schema(operation_id="assignments_complete", request=None, responses={200: AssignmentOutput})
    def post(self, request: Request, slug: str, assignment_id: str) -> Response:
        assignment = assignment_get(tenant=self.tenant, assignment_id=assignment_id)
        if assignment is None:
            raise Http404
        return Response(assignment_json(assignment_complete(assignment=assignment)))


def _uuid_or_400(value: str, field: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise ValidationError({field: ["must be a UUID"]}) from exc
