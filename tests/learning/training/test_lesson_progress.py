"""A learner's progress through the API: lessons, starting, completing by itself."""
from __future__ import annotations

import pytest

from learning.models import AssignmentStatus
from learning.training.models import LessonCompletion
from tests.learning.training.factories import assignment, event_count, events, lesson, published_course, url

pytestmark = pytest.mark.django_db


def test_first_lesson_starts_the_assignment_once_and_records_lesson_completed(api, tenant):
    course = published_course(tenant)
    first, second = lesson(tenant, course, "One"), lesson(tenant, course, "Two")
    made = assignment(tenant, course)

    response = api.post(url(tenant, f"assignments/{made.pk}/lessons/{first.pk}/complete"))

    assert response.status_code == 201
    made.refresh_from_db()
    assert made.status == AssignmentStatus.STARTED and made.started_at is not None
    assert len(events("assignment.started", id=str(made.pk))) == 1
    assert events("lesson.completed") == [
        {"id": str(first.pk), "courseId": str(course.pk), "assignmentId": str(made.pk), "learnerId": str(made.learner_id),
         "completedAt": response.json()["completedAt"]}
    ]
    api.post(url(tenant, f"assignments/{made.pk}/lessons/{second.pk}/complete"))
    assert len(events("assignment.started")) == 1


def test_second_completion_of_a_lesson_changes_and_sends_nothing(api, tenant):
    course = published_course(tenant)
    one = lesson(tenant, course)
    lesson(tenant, course, "Still to do")
    made = assignment(tenant, course)
    first = api.post(url(tenant, f"assignments/{made.pk}/lessons/{one.pk}/complete"))
    before = event_count()

    again = api.post(url(tenant, f"assignments/{made.pk}/lessons/{one.pk}/complete"))

    assert again.status_code == 200 and again.json()["completedAt"] == first.json()["completedAt"]
    assert event_count() == before
    assert LessonCompletion.objects.count() == 1


def test_completing_every_required_lesson_completes_the_course_by_itself(api, tenant):
    course = published_course(tenant)
    required = [lesson(tenant, course, f"L{i}") for i in range(2)]
    lesson(tenant, course, "Optional", required=False)
    made = assignment(tenant, course)

    for item in required:
        answer = api.post(url(tenant, f"assignments/{made.pk}/lessons/{item.pk}/complete"))

    assert answer.json()["assignmentStatus"] == "completed"
    assert [e["id"] for e in events("course.completed")] == [str(made.pk)]
    assert [e["id"] for e in events("assignment.completed")] == [str(made.pk)]
    progress = api.get(url(tenant, f"assignments/{made.pk}/progress")).json()
    assert progress["status"] == "completed" and [bool(l["completedAt"]) for l in progress["lessons"]] == [True, True, False]


def test_a_lesson_of_another_course_is_not_found_and_changes_nothing(api, tenant):
    made = assignment(tenant, published_course(tenant))
    other = lesson(tenant, published_course(tenant, "Other"))
    before = event_count()

    response = api.post(url(tenant, f"assignments/{made.pk}/lessons/{other.pk}/complete"))

    assert response.status_code == 404 and event_count() == before
    made.refresh_from_db()
    assert made.started_at is None


def test_lessons_of_a_completed_or_expired_assignment_are_refused(api, tenant):
    course = published_course(tenant)
    one = lesson(tenant, course)
    made = assignment(tenant, course)
    made.status = AssignmentStatus.EXPIRED
    made.save()
    before = event_count()

    response = api.post(url(tenant, f"assignments/{made.pk}/lessons/{one.pk}/complete"))

    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"
    assert event_count() == before


def test_external_completion_stays_an_api_call(api, tenant):
    course = published_course(tenant)
    lesson(tenant, course)
    made = assignment(tenant, course)

    response = api.post(url(tenant, f"assignments/{made.pk}/complete"))

    assert response.json()["status"] == "completed"
    assert len(events("course.completed")) == 1 and not events("lesson.completed")
