"""Class routes (scope `courses`) and class enrollment routes (scope `enrollments`), with document 002's status codes."""
from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from learning.models import Course, Learner
from learning.training.api.common import TrainingFilter, detail_view, list_create_view, lookup, related
from learning.training.api.serializers import (
    ClassEnrollmentInputSerializer,
    ClassEnrollmentSerializer,
    ClassInputSerializer,
    ClassSerializer,
    StatusInputSerializer,
)
from learning.training.models import ClassEnrollment, TrainingClass
from learning.training.services import classes
from learning.training.statuses import ClassStatus, EnrollmentStatus, parse_status
from tenants.api.views import TenantApiView
from skillhub.errors import ValidationFailed

_CLASS_FIELDS = {
    "title": "title",
    "startsAt": "starts_at",
    "endsAt": "ends_at",
    "location": "location",
    "link": "link",
    "capacity": "capacity",
    "instructor": "instructor",
}


class ClassFilter(TrainingFilter):
    courseId = django_filters.UUIDFilter(field_name="course_id")
    status = django_filters.NumberFilter(label="status code (0–7)")
    startsAfter = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    startsBefore = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = TrainingClass
        fields: list[str] = []


class ClassEnrollmentFilter(TrainingFilter):
    classId = django_filters.UUIDFilter(field_name="training_class_id")
    learnerId = django_filters.UUIDFilter(field_name="learner_id")
    status = django_filters.NumberFilter(label="status code (0, 10, … 60)")

    class Meta:
        model = ClassEnrollment
        fields: list[str] = []


def _create_class(view: TenantApiView, data: dict[str, Any]) -> TrainingClass:
    course = related(Course, view.tenant, data["courseId"], "courseId")
    values = {field: data[key] for key, field in _CLASS_FIELDS.items() if key in data}
    if "status" in data:
        values["status"] = parse_status(ClassStatus, data["status"])
    return classes.class_create(tenant=view.tenant, course=course, values=values)


def _update_class(training_class: TrainingClass, data: dict[str, Any]) -> TrainingClass:
    if "courseId" in data or "status" in data:
        field = "courseId" if "courseId" in data else "status"
        raise ValidationFailed({field: "not changed here: a class stays with its course; use POST …/status for the status"})
    return classes.class_update(training_class=training_class, values={field: data[key] for key, field in _CLASS_FIELDS.items() if key in data})


ClassListApi = list_create_view(
    name="classes", model=TrainingClass, scope="courses", output=ClassSerializer, filterset=ClassFilter,
    input_=ClassInputSerializer, create=_create_class, write_action="classes.write",
    doc="List classes, or schedule one (`class.status_changed` with no previous status).",
)
ClassDetailApi = detail_view(
    name="classes", model=TrainingClass, scope="courses", output=ClassSerializer, input_=ClassInputSerializer,
    update=_update_class, delete=lambda c: classes.class_delete(training_class=c), write_action="classes.write",
    doc="Read, change or delete a class; new times on a Scheduled, Guaranteed or Tentative class make it Rescheduled.",
)


class ClassStatusApi(TenantApiView):
    """Move a class to a new status by the transition table (400 naming both states when illegal)."""

    scope = "courses"
    actions = {"POST": "classes.write"}

    @extend_schema(operation_id="classes_set_status", request=StatusInputSerializer, responses={200: ClassSerializer})
    def post(self, request: Request, slug: str, pk: str) -> Response:
        training_class = lookup(TrainingClass, self.tenant, pk)
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = parse_status(ClassStatus, data.validated_data["status"])
        return Response(ClassSerializer(classes.class_set_status(training_class=training_class, status=new)).data)


def _create_enrollment(view: TenantApiView, data: dict[str, Any]) -> ClassEnrollment:
    training_class = related(TrainingClass, view.tenant, data["classId"], "classId")
    learner = related(Learner, view.tenant, data["learnerId"], "learnerId")
    wanted = parse_status(EnrollmentStatus, data["status"]) if "status" in data else EnrollmentStatus.ENROLL
    return classes.enrollment_create(tenant=view.tenant, training_class=training_class, learner=learner, status=wanted)


ClassEnrollmentListApi = list_create_view(
    name="class_enrollments", model=ClassEnrollment, scope="enrollments", output=ClassEnrollmentSerializer,
    filterset=ClassEnrollmentFilter, input_=ClassEnrollmentInputSerializer, create=_create_enrollment,
    doc="List class enrollments, or enroll a learner (a full class puts them on the waitlist, status 20).",
)
ClassEnrollmentDetailApi = detail_view(name="class_enrollments", model=ClassEnrollment, scope="enrollments", output=ClassEnrollmentSerializer)


class ClassEnrollmentStatusApi(TenantApiView):
    """Move an enrollment by the transition table; cancelling a seat enrolls the first on the waitlist."""

    scope = "enrollments"

    @extend_schema(
        operation_id="class_enrollments_set_status", request=StatusInputSerializer, responses={200: ClassEnrollmentSerializer}
    )
    def post(self, request: Request, slug: str, pk: str) -> Response:
        enrollment = lookup(ClassEnrollment, self.tenant, pk)
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = parse_status(EnrollmentStatus, data.validated_data["status"])
        return Response(ClassEnrollmentSerializer(classes.enrollment_set_status(enrollment=enrollment, status=new)).data)
