"""Learning path routes: paths (scope `courses`) and path enrollments (scope `enrollments`)."""
from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from learning.models import Course, Learner
from learning.training.api.common import TrainingFilter, detail_view, list_create_view, lookup, related
from learning.training.api.serializers import (
    PathEnrollmentInputSerializer,
    PathEnrollmentSerializer,
    PathInputSerializer,
    PathSerializer,
)
from learning.training.models import LearningPath, PathEnrollment
from learning.training.services import paths
from tenants.api.views import TenantApiView
from tenants.models import Tenant


class PathFilter(TrainingFilter):
    courseId = django_filters.UUIDFilter(field_name="path_courses__course_id", label="paths containing this course")

    class Meta:
        model = LearningPath
        fields: list[str] = []


class PathEnrollmentFilter(TrainingFilter):
    pathId = django_filters.UUIDFilter(field_name="path_id")
    learnerId = django_filters.UUIDFilter(field_name="learner_id")
    completed = django_filters.BooleanFilter(field_name="completed_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = PathEnrollment
        fields: list[str] = []


def _courses(tenant: Tenant, ids: list[str]) -> list[Course]:
    return [related(Course, tenant, pk, "courseIds") for pk in ids]


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("title", "description") if k in data}


def _create(view: TenantApiView, data: dict[str, Any]) -> LearningPath:
    created = paths.path_create(tenant=view.tenant, values=_values(data), courses=_courses(view.tenant, data.get("courseIds", [])))
    return lookup(LearningPath, view.tenant, created.pk)


def _update(path: LearningPath, data: dict[str, Any]) -> LearningPath:
    courses = _courses(path.tenant, data["courseIds"]) if "courseIds" in data else None
    paths.path_update(path=path, values=_values(data), courses=courses)
    return lookup(LearningPath, path.tenant, path.pk)


PathListApi = list_create_view(
    name="paths", model=LearningPath, scope="courses", output=PathSerializer, filterset=PathFilter,
    input_=PathInputSerializer, create=_create, doc="List learning paths, or create one from courses in order.",
)
PathDetailApi = detail_view(
    name="paths", model=LearningPath, scope="courses", output=PathSerializer, input_=PathInputSerializer,
    update=_update, delete=lambda path: paths.path_delete(path=path),
)


class PathEnrollmentListApi(list_create_view(  # type: ignore[misc]
    name="path_enrollments", model=PathEnrollment, scope="enrollments", output=PathEnrollmentSerializer,
    filterset=PathEnrollmentFilter,
)):
    """List path enrollments, or enroll a learner in a path and its courses (`path.enrolled`, `course.enrolled`)."""

    @extend_schema(
        operation_id="path_enrollments_create",
        request=PathEnrollmentInputSerializer,
        responses={
            201: OpenApiResponse(PathEnrollmentSerializer, description="enrolled now"),
            200: OpenApiResponse(PathEnrollmentSerializer, description="already enrolled: nothing changed"),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        data = PathEnrollmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        path = related(LearningPath, self.tenant, data.validated_data["pathId"], "pathId")
        learner = related(Learner, self.tenant, data.validated_data["learnerId"], "learnerId")
        enrollment, created = paths.path_enroll(tenant=self.tenant, path=path, learner=learner, assigned_by=str(request.user))
        return Response(PathEnrollmentSerializer(enrollment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


PathEnrollmentDetailApi = detail_view(name="path_enrollments", model=PathEnrollment, scope="enrollments", output=PathEnrollmentSerializer)


class PathEnrollmentCompleteApi(TenantApiView):
    """Mark a path enrollment completed by an external event (`path.completed`); twice changes nothing."""

    scope = "enrollments"

    @extend_schema(operation_id="path_enrollments_complete", request=None, responses={200: PathEnrollmentSerializer})
    def post(self, request: Request, slug: str, pk: str) -> Response:
        enrollment = paths.path_enrollment_complete(enrollment=lookup(PathEnrollment, self.tenant, pk))
        return Response(PathEnrollmentSerializer(enrollment).data)
