"""A learner's progress routes: completing lessons, quiz attempts and their grading, the expiring window (scope `enrollments`)."""
from __future__ import annotations

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from learning.models import Assignment
from learning.selectors import assignment_get
from learning.training import selectors
from learning.training.api.common import TrainingFilter, detail_view, list_create_view, lookup
from learning.training.api.serializers import (
    LessonCompletionSerializer,
    ProgressSerializer,
    QuizAttemptInputSerializer,
    QuizAttemptSerializer,
    QuizGradeInputSerializer,
    TrainingSettingsInputSerializer,
    TrainingSettingsSerializer,
)
from learning.training.models import Lesson, QuizAttempt, QuizAttemptStatus
from learning.training.services import lifecycle, progress
from tenants.api.views import TenantApiView



def _assignment(view: TenantApiView, assignment_id: str) -> Assignment:
    assignment = assignment_get(tenant=view.tenant, assignment_id=assignment_id)
    if assignment is None:
        raise Http404
    return assignment


class LessonCompleteApi(TenantApiView):
    """Mark a lesson complete in an assignment; the first activity starts it, the last required one completes it."""

    scope = "enrollments"

    @extend_schema(
        operation_id="assignments_lessons_complete",
        request=None,
        responses={
            201: OpenApiResponse(LessonCompletionSerializer, description="completed now (`lesson.completed`)"),
            200: OpenApiResponse(LessonCompletionSerializer, description="was already complete: nothing changed, nothing sent"),
        },
    )
    def post(self, request: Request, slug: str, assignment_id: str, lesson_id: str) -> Response:
        assignment = _assignment(self, assignment_id)
        lesson = lookup(Lesson, self.tenant, lesson_id)
        completion, created = progress.lesson_complete(assignment=assignment, lesson=lesson)
        completion.assignment.refresh_from_db(fields=["status"])
        return Response(LessonCompletionSerializer(completion).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class AssignmentProgressApi(TenantApiView):
    """Each lesson of the assignment's course in order with when it was completed, and the quiz attempts."""

    scope = "enrollments"

    @extend_schema(operation_id="assignments_progress", responses={200: ProgressSerializer})
    def get(self, request: Request, slug: str, assignment_id: str) -> Response:
        assignment = _assignment(self, assignment_id)
        found = selectors.assignment_progress(assignment=assignment)
        attempts = found["attempts"]
        body = {
            "assignmentId": assignment.pk,
            "status": assignment.status,
            "startedAt": assignment.started_at,
            "completedAt": assignment.completed_at,
            "lessons": [
                {"lessonId": lesson.pk, "title": lesson.title, "position": lesson.position, "required": lesson.required, "completedAt": done}
                for lesson, done in found["lessons"]
            ],
            "quizId": found["quiz"].pk if found["quiz"] else None,
            "quizPassed": any(a.passed for a in attempts),
            "attempts": attempts,
        }
        return Response(ProgressSerializer(body).data)


class QuizAttemptSubmitApi(TenantApiView):
    """Submit an attempt at the course's quiz: graded at once (`quiz.completed`), or held for an assessor when it has a manual task."""

    scope = "enrollments"

    @extend_schema(
        operation_id="assignments_quiz_attempts_create",
        request=QuizAttemptInputSerializer,
        responses={201: QuizAttemptSerializer},
    )
    def post(self, request: Request, slug: str, assignment_id: str) -> Response:
        assignment = _assignment(self, assignment_id)
        data = QuizAttemptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = progress.quiz_attempt_submit(
            assignment=assignment, answers=data.validated_data["answers"], task_response=data.validated_data.get("taskResponse", "")
        )
        return Response(QuizAttemptSerializer(attempt).data, status=status.HTTP_201_CREATED)


class QuizAttemptGradeApi(TenantApiView):
    """An assessor grades an attempt's manual task; only then is `quiz.completed` sent."""

    scope = "enrollments"
    actions = {"POST": "quizzes.grade"}

    @extend_schema(operation_id="quiz_attempts_grade", request=QuizGradeInputSerializer, responses={200: QuizAttemptSerializer})
    def post(self, request: Request, slug: str, pk: str) -> Response:
        attempt = lookup(QuizAttempt, self.tenant, pk)
        data = QuizGradeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        graded = progress.quiz_attempt_grade(
            attempt=attempt,
            task_passed=data.validated_data["taskPassed"],
            reviewer=str(request.user),
            comment=data.validated_data.get("comment", ""),
        )
        return Response(QuizAttemptSerializer(graded).data)


class QuizAttemptFilter(TrainingFilter):
    assignmentId = django_filters.UUIDFilter(field_name="assignment_id")
    learnerId = django_filters.UUIDFilter(field_name="learner_id")
    quizId = django_filters.UUIDFilter(field_name="quiz_id")
    status = django_filters.ChoiceFilter(choices=QuizAttemptStatus.choices)
    passed = django_filters.BooleanFilter()

    class Meta:
        model = QuizAttempt
        fields: list[str] = []


QuizAttemptListApi = list_create_view(
    name="quiz_attempts", model=QuizAttempt, scope="enrollments", output=QuizAttemptSerializer, filterset=QuizAttemptFilter,
    doc="List quiz attempts (status=pending_review: the assessor's queue).",
)
QuizAttemptDetailApi = detail_view(name="quiz_attempts", model=QuizAttempt, scope="enrollments", output=QuizAttemptSerializer)


def _settings_body(settings: object) -> dict[str, object]:
    return {
        "expiringEnabled": settings.expiring_enabled,  # type: ignore[attr-defined]
        "expiringWindow": {
            "moreThanDays": settings.expiring_more_than_days,  # type: ignore[attr-defined]
            "fewerThanDays": settings.expiring_fewer_than_days,  # type: ignore[attr-defined]
        },
    }


class TrainingSettingsApi(TenantApiView):
    """The tenant's assignment expiring window: `assignment.expiring` when more than X and fewer than Y days are left."""

    scope = "enrollments"
    actions = {"PUT": "training_settings.write"}

    @extend_schema(operation_id="training_settings_read", responses={200: TrainingSettingsSerializer})
    def get(self, request: Request, slug: str) -> Response:
        return Response(_settings_body(lifecycle.training_settings_get(tenant=self.tenant)))

    @extend_schema(
        operation_id="training_settings_update", request=TrainingSettingsInputSerializer, responses={200: TrainingSettingsSerializer}
    )
    def put(self, request: Request, slug: str) -> Response:
        data = TrainingSettingsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = data.validated_data["expiringWindow"]
        settings = lifecycle.training_settings_set(
            tenant=self.tenant,
            more_than_days=window["moreThanDays"],
            fewer_than_days=window["fewerThanDays"],
            enabled=data.validated_data.get("expiringEnabled", True),
        )
        return Response(_settings_body(settings))
