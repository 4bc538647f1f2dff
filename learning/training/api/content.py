"""Course content routes: lessons, quizzes, archiving a course (scope `courses`)."""
from __future__ import annotations

from typing import Any

import django_filters
from django.http import Http404

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from learning.models import Course
from learning.selectors import course_get, course_json
from learning.training.api.common import TrainingFilter, detail_view, list_create_view, related
from learning.training.api.serializers import CourseSerializer, LessonInputSerializer, LessonSerializer, QuizInputSerializer, QuizSerializer
from learning.training.models import Lesson, Quiz
from learning.training.services import content
from skillhub.errors import ValidationFailed
from tenants.api.views import TenantApiView


class LessonFilter(TrainingFilter):
    courseId = django_filters.UUIDFilter(field_name="course_id")
    required = django_filters.BooleanFilter()

    class Meta:
        model = Lesson
        fields: list[str] = []


class QuizFilter(TrainingFilter):
    courseId = django_filters.UUIDFilter(field_name="course_id")

    class Meta:
        model = Quiz
        fields: list[str] = []


def _lesson_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {k: data[k] for k in ("title", "body", "position", "required") if k in data}
    if "link" in data:
        values["link"] = data["link"] or ""
    return values


def _quiz_values(data: dict[str, Any]) -> dict[str, Any]:
    names = {"title": "title", "questions": "questions", "passMark": "pass_mark", "manualTask": "manual_task"}
    return {field: data[key] for key, field in names.items() if key in data}


def _no_course_change(data: dict[str, Any]) -> None:
    if "courseId" in data:
        raise ValidationFailed({"courseId": "a lesson or quiz stays with its course"})


def _create_lesson(view: TenantApiView, data: dict[str, Any]) -> Lesson:
    course = related(Course, view.tenant, data["courseId"], "courseId")
    return content.lesson_create(tenant=view.tenant, course=course, values=_lesson_values(data))


def _update_lesson(lesson: Lesson, data: dict[str, Any]) -> Lesson:
    _no_course_change(data)
    return content.lesson_update(lesson=lesson, values=_lesson_values(data))


def _create_quiz(view: TenantApiView, data: dict[str, Any]) -> Quiz:
    course = related(Course, view.tenant, data["courseId"], "courseId")
    return content.quiz_create(tenant=view.tenant, course=course, values=_quiz_values(data))


def _update_quiz(quiz: Quiz, data: dict[str, Any]) -> Quiz:
    _no_course_change(data)
    return content.quiz_update(quiz=quiz, values=_quiz_values(data))


LessonListApi = list_create_view(
    name="lessons", model=Lesson, scope="courses", output=LessonSerializer, filterset=LessonFilter,
    input_=LessonInputSerializer, create=_create_lesson, doc="List lessons (filter by courseId; `position` orders them), or add one.",
)
LessonDetailApi = detail_view(
    name="lessons", model=Lesson, scope="courses", output=LessonSerializer, input_=LessonInputSerializer,
    update=_update_lesson, delete=lambda lesson: content.lesson_delete(lesson=lesson),
)
QuizListApi = list_create_view(
    name="quizzes", model=Quiz, scope="courses", output=QuizSerializer, filterset=QuizFilter,
    input_=QuizInputSerializer, create=_create_quiz,
    doc="List quizzes, or give a course its quiz (one per course; 409 when it has one).",
)
QuizDetailApi = detail_view(
    name="quizzes", model=Quiz, scope="courses", output=QuizSerializer, input_=QuizInputSerializer,
    update=_update_quiz, delete=lambda quiz: content.quiz_delete(quiz=quiz),
)


class CourseArchiveApi(TenantApiView):
    """Archive a course: no new assignments or need matches; publishing it again brings it back."""

    scope = "courses"

    @extend_schema(operation_id="courses_archive", request=None, responses={200: CourseSerializer})
    def post(self, request: Request, slug: str, pk: str) -> Response:
        course = course_get(tenant=self.tenant, course_id=pk)
        if course is None:
            raise Http404
        return Response(course_json(content.course_archive(course=course)))
