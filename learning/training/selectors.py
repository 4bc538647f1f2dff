"""Reads of training management, always scoped to a tenant; another tenant's row is simply not found."""
from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from learning.models import Assignment
from learning.training.models import (
    Achievement,
    AchievementAward,
    ClassEnrollment,
    Feedback,
    LearningPath,
    Lesson,
    LessonCompletion,
    PathEnrollment,
    Purchase,
    Quiz,
    QuizAttempt,
    TrainingClass,
    Voucher,
)
from skillhub.ids import uuid_or_none
from tenants.models import Tenant

M = TypeVar("M", bound=Model)

# What each list and read loads with its rows (no query per row).
RELATED: dict[type[Model], tuple[str, ...]] = {
    Lesson: (),
    Quiz: (),
    QuizAttempt: ("quiz",),
    LearningPath: (),
    PathEnrollment: (),
    TrainingClass: (),
    ClassEnrollment: (),
    Feedback: (),
    Achievement: (),
    AchievementAward: ("achievement",),
    Voucher: (),
    Purchase: (),
}
PREFETCH: dict[type[Model], tuple[str, ...]] = {LearningPath: ("path_courses",)}



def queryset(model: type[M], *, tenant: Tenant) -> QuerySet[M]:
    """Return the tenant's rows of `model` in their stable (id) order."""
    rows = model.objects.filter(tenant=tenant).order_by("id")  # type: ignore[attr-defined]
    if RELATED.get(model):
        rows = rows.select_related(*RELATED[model])
    if PREFETCH.get(model):
        rows = rows.prefetch_related(*PREFETCH[model])
    return rows


def get(model: type[M], *, tenant: Tenant, pk: Any) -> M | None:
    """Return the tenant's row of `model` with this id, or None (also for malformed ids)."""
    key = uuid_or_none(pk)
    return queryset(model, tenant=tenant).filter(pk=key).first() if key else None


def lessons_of(*, course_id: Any) -> list[Lesson]:
    """Return a course's lessons in their order."""
    return list(Lesson.objects.filter(course_id=course_id).order_by("position", "id"))


def assignment_progress(*, assignment: Assignment) -> dict[str, Any]:
    """Return what a learner has done in an assignment: each lesson in order, and the quiz attempts."""
    done = dict(LessonCompletion.objects.filter(assignment=assignment).values_list("lesson_id", "completed_at"))
    attempts = list(QuizAttempt.objects.filter(assignment=assignment).select_related("quiz").order_by("id"))
    quiz = Quiz.objects.filter(course_id=assignment.course_id).first()
    return {"lessons": [(lesson, done.get(lesson.pk)) for lesson in lessons_of(course_id=assignment.course_id)], "quiz": quiz, "attempts": attempts}
