"""Helpers of the training tests: rows made through the services, API shortcuts."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from learning.models import Assignment, Course
from learning.services import assignment_create, course_create, course_publish
from learning.training.models import Lesson, Quiz, TrainingClass
from learning.training.services import classes, content
from tenants.models import Tenant
from tests.factories import LearnerFactory
from webhooks.models import Event


def published_course(tenant: Tenant, title: str = "Working at Heights") -> Course:
    return course_publish(course=course_create(tenant=tenant, title=title))


def lesson(tenant: Tenant, course: Course, title: str = "Harness", *, required: bool = True) -> Lesson:
    return content.lesson_create(tenant=tenant, course=course, values={"title": title, "body": "Read this.", "required": required})


def quiz(tenant: Tenant, course: Course, *, manual_task: str = "", pass_mark: int = 50) -> Quiz:
    questions = [
        {"text": "Anchor rating?", "choices": ["5 kN", "15 kN"], "answer": 1},
        {"text": "Inspect before use?", "choices": ["Yes", "No"], "answer": 0},
    ]
    return content.quiz_create(
        tenant=tenant, course=course, values={"title": "Check", "questions": questions, "pass_mark": pass_mark, "manual_task": manual_task}
    )


def assignment(tenant: Tenant, course: Course, **kwargs: Any) -> Assignment:
    made, _ = assignment_create(tenant=tenant, learner=kwargs.pop("learner", None) or LearnerFactory(tenant=tenant), course=course, **kwargs)
    return made


def training_class(tenant: Tenant, course: Course | None = None, *, capacity: int | None = None) -> TrainingClass:
    start = timezone.now() + timedelta(days=7)
    return classes.class_create(
        tenant=tenant,
        course=course or published_course(tenant, "Class course"),
        values={"starts_at": start, "ends_at": start + timedelta(hours=3), "capacity": capacity, "location": "Site A"},
    )


def events(event_type: str, **data: Any) -> list[dict[str, Any]]:
    """Return the data of recorded events of a type, optionally matching some data fields."""
    rows = [e.data for e in Event.objects.filter(type=event_type).order_by("created_at", "id")]
    return [row for row in rows if all(row.get(k) == v for k, v in data.items())]


def event_count() -> int:
    return Event.objects.count()


def url(tenant: Tenant, path: str) -> str:
    return f"/api/v1/tenants/{tenant.slug}/{path.lstrip('/')}"
