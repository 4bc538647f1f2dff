"""Course content: lessons, the quiz, and archiving a course."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from learning.models import Course, CourseStatus
from learning.training.models import Lesson, Quiz
from learning.training.services.common import clean_text, same_tenant
from skillhub.errors import ConflictError, NotFoundError, ValidationFailed
from tenants.models import Tenant

_LESSON_TEXT = {"title": 200, "body": 0, "link": 1000}


def _check_lesson(values: dict[str, Any]) -> None:
    if not values.get("body") and not values.get("link"):
        raise ValidationFailed({"body": "a lesson needs a body or a link"})


@transaction.atomic
def lesson_create(*, tenant: Tenant, course: Course, values: dict[str, Any]) -> Lesson:
    """Add a lesson to a course, at the end unless a position is given."""
    if not same_tenant(tenant, course):
        raise NotFoundError("Course not found")
    values = clean_text(values, _LESSON_TEXT, required=("title",))
    values.setdefault("title", "")
    if not values["title"]:
        raise ValidationFailed({"title": "This field is required"})
    _check_lesson(values)
    if values.get("position") is None:
        last = Lesson.objects.filter(course=course).aggregate(last=Max("position"))["last"]
        values["position"] = 0 if last is None else last + 1
    return Lesson.objects.create(tenant=tenant, course=course, **values)


def lesson_update(*, lesson: Lesson, values: dict[str, Any]) -> Lesson:
    """Change a lesson's title, body, link, position or whether it is required."""
    values = clean_text(values, _LESSON_TEXT, required=("title",))
    for field, value in values.items():
        setattr(lesson, field, value)
    _check_lesson({"body": lesson.body, "link": lesson.link})
    lesson.save()
    return lesson


def lesson_delete(*, lesson: Lesson) -> None:
    """Delete a lesson (its completions go with it)."""
    lesson.delete()


def _check_questions(questions: Any) -> list[dict[str, Any]]:
    if not isinstance(questions, list) or len(questions) > 200:
        raise ValidationFailed({"questions": "must be a list of at most 200 questions"})
    clean = []
    for index, question in enumerate(questions):
        field = f"questions[{index}]"
        if not isinstance(question, dict) or set(question) - {"text", "choices", "answer"}:
            raise ValidationFailed({field: "must be an object with text, choices and answer"})
        text, choices, answer = question.get("text"), question.get("choices"), question.get("answer")
        if not isinstance(text, str) or not text.strip() or len(text) > 2000:
            raise ValidationFailed({f"{field}.text": "required, at most 2000 characters"})
        if (
            not isinstance(choices, list)
            or not 2 <= len(choices) <= 20
            or not all(isinstance(c, str) and c.strip() and len(c) <= 500 for c in choices)
        ):
            raise ValidationFailed({f"{field}.choices": "between 2 and 20 non-empty texts"})
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise ValidationFailed({f"{field}.answer": "the index of the right choice"})
        clean.append({"text": text.strip(), "choices": [c.strip() for c in choices], "answer": answer})
    return clean


def _quiz_values(values: dict[str, Any]) -> dict[str, Any]:
    values = clean_text(values, {"title": 200, "manual_task": 0}, required=("title",))
    if "questions" in values:
        values["questions"] = _check_questions(values["questions"])
    if "pass_mark" in values:
        mark = values["pass_mark"]
        if isinstance(mark, bool) or not isinstance(mark, int) or not 0 <= mark <= 100:
            raise ValidationFailed({"pass_mark": "a percentage from 0 to 100"})
    return values


@transaction.atomic
def quiz_create(*, tenant: Tenant, course: Course, values: dict[str, Any]) -> Quiz:
    """Give a course its quiz (one per course)."""
    if not same_tenant(tenant, course):
        raise NotFoundError("Course not found")
    values = _quiz_values(values)
    if not values.get("title"):
        raise ValidationFailed({"title": "This field is required"})
    if Quiz.objects.select_for_update().filter(course=course).exists():
        raise ConflictError("This course already has a quiz", field="course_id", reason="already has a quiz")
    return Quiz.objects.create(tenant=tenant, course=course, **values)


def quiz_update(*, quiz: Quiz, values: dict[str, Any]) -> Quiz:
    """Change a quiz's title, questions, pass mark or manual task (attempts already graded keep their result)."""
    for field, value in _quiz_values(values).items():
        setattr(quiz, field, value)
    quiz.save()
    return quiz


def quiz_delete(*, quiz: Quiz) -> None:
    """Delete a quiz and its attempts."""
    quiz.delete()


def course_archive(*, course: Course) -> Course:
    """Archive a course: it is no longer assigned or matched; live assignments carry on. Twice is a no-op."""
    if course.status != CourseStatus.ARCHIVED:
        course.status = CourseStatus.ARCHIVED
        course.save(update_fields=["status", "updated_at"])
    return course
