"""Learning paths, feedback and achievements through the API."""
from __future__ import annotations

import pytest

from learning.models import Assignment
from learning.training.models import AchievementAward
from tests.factories import LearnerFactory
from tests.learning.training.factories import event_count, events, lesson, published_course, training_class, url

pytestmark = pytest.mark.django_db


def _path(api, tenant, courses, **extra):  # noqa: ANN001, ANN003, ANN202
    return api.post(url(tenant, "paths"), {"title": "Site ready", "courseIds": [str(c.pk) for c in courses], **extra}, format="json").json()


def test_enrolling_in_a_path_enrolls_in_its_courses_and_completing_them_completes_it(api, tenant):
    courses = [published_course(tenant, f"C{i}") for i in range(3)]
    path = _path(api, tenant, courses)
    learner = LearnerFactory(tenant=tenant)

    enrolled = api.post(url(tenant, "path-enrollments"), {"pathId": path["id"], "learnerId": str(learner.pk)}, format="json")
    again = api.post(url(tenant, "path-enrollments"), {"pathId": path["id"], "learnerId": str(learner.pk)}, format="json")

    assert enrolled.status_code == 201 and again.status_code == 200
    assert len(events("path.enrolled")) == 1 and len(events("course.enrolled")) == 3
    assignments = list(Assignment.objects.filter(learner=learner).order_by("id"))
    for assignment in assignments[:-1]:
        api.post(url(tenant, f"assignments/{assignment.pk}/complete"))
    assert not events("path.completed")
    api.post(url(tenant, f"assignments/{assignments[-1].pk}/complete"))
    assert [e["id"] for e in events("path.completed")] == [enrolled.json()["id"]]
    assert api.get(url(tenant, f"path-enrollments/{enrolled.json()['id']}")).json()["completedAt"]


def test_a_path_completes_by_itself_through_lessons(api, tenant):
    course = published_course(tenant)
    only = lesson(tenant, course)
    path = _path(api, tenant, [course])
    learner = LearnerFactory(tenant=tenant)
    api.post(url(tenant, "path-enrollments"), {"pathId": path["id"], "learnerId": str(learner.pk)}, format="json")
    assignment = Assignment.objects.get(learner=learner)

    api.post(url(tenant, f"assignments/{assignment.pk}/lessons/{only.pk}/complete"))

    assert len(events("path.completed")) == 1


def test_a_path_is_completed_by_an_external_call_once(api, tenant):
    path = _path(api, tenant, [published_course(tenant)])
    enrollment = api.post(url(tenant, "path-enrollments"), {"pathId": path["id"], "learnerId": str(LearnerFactory(tenant=tenant).pk)}, format="json").json()

    first = api.post(url(tenant, f"path-enrollments/{enrollment['id']}/complete"))
    second = api.post(url(tenant, f"path-enrollments/{enrollment['id']}/complete"))

    assert first.json()["completedAt"] == second.json()["completedAt"] and len(events("path.completed")) == 1


def test_a_path_with_a_draft_course_cannot_be_enrolled_in(api, tenant):
    from learning.services import course_create

    path = _path(api, tenant, [course_create(tenant=tenant, title="Draft")])
    before = event_count()

    response = api.post(url(tenant, "path-enrollments"), {"pathId": path["id"], "learnerId": str(LearnerFactory(tenant=tenant).pk)}, format="json")

    assert response.status_code == 400 and event_count() == before


def test_paths_keep_their_course_order(api, tenant):
    courses = [published_course(tenant, f"C{i}") for i in range(3)]
    path = _path(api, tenant, courses)

    changed = api.patch(url(tenant, f"paths/{path['id']}"), {"courseIds": [str(courses[2].pk), str(courses[0].pk)]}, format="json")

    assert path["courseIds"] == [str(c.pk) for c in courses]
    assert changed.json()["courseIds"] == [str(courses[2].pk), str(courses[0].pk)]


def test_feedback_on_a_course_or_a_class_records_feedback_created(api, tenant):
    course = published_course(tenant)
    klass = training_class(tenant, course)
    learner = LearnerFactory(tenant=tenant)

    on_course = api.post(url(tenant, "feedback"), {"learnerId": str(learner.pk), "courseId": str(course.pk), "rating": 5, "comment": "Good"}, format="json")
    on_class = api.post(url(tenant, "feedback"), {"learnerId": str(learner.pk), "classId": str(klass.pk), "rating": 3}, format="json")

    assert on_course.status_code == 201 and on_class.status_code == 201
    assert [(e["rating"], e["classId"]) for e in events("feedback.created")] == [(5, None), (3, str(klass.pk))]


@pytest.mark.parametrize("body", [{"rating": 0}, {"rating": 6}, {"rating": "x"}, {"rating": 4, "classId": None, "courseId": None}])
def test_bad_feedback_is_refused(api, tenant, body):
    course = published_course(tenant)
    payload = {"learnerId": str(LearnerFactory(tenant=tenant).pk), "courseId": str(course.pk), **body}

    response = api.post(url(tenant, "feedback"), payload, format="json")

    assert response.status_code == 400 and not events("feedback.created")


def test_completing_a_course_earns_its_achievement_once(api, tenant):
    course = published_course(tenant)
    learner = LearnerFactory(tenant=tenant)
    achievement = api.post(url(tenant, "achievements"), {"name": "Heights hero", "courseId": str(course.pk)}, format="json").json()
    first = Assignment.objects.create(tenant=tenant, learner=learner, course=course)

    api.post(url(tenant, f"assignments/{first.pk}/complete"))
    second = Assignment.objects.create(tenant=tenant, learner=learner, course=course)
    api.post(url(tenant, f"assignments/{second.pk}/complete"))

    assert [(e["achievementId"], e["reason"]) for e in events("achievement.earned")] == [(achievement["id"], "course")]
    assert AchievementAward.objects.count() == 1


def test_awarding_by_hand_is_idempotent(api, tenant):
    achievement = api.post(url(tenant, "achievements"), {"name": "Safety champion"}, format="json").json()
    learner = LearnerFactory(tenant=tenant)
    body = {"achievementId": achievement["id"], "learnerId": str(learner.pk)}

    first = api.post(url(tenant, "achievement-awards"), body, format="json")
    second = api.post(url(tenant, "achievement-awards"), body, format="json")

    assert (first.status_code, second.status_code) == (201, 200) and first.json()["id"] == second.json()["id"]
    assert [e["reason"] for e in events("achievement.earned")] == ["manual"]


def test_achievement_names_are_unique_and_need_one_target(api, tenant):
    course = published_course(tenant)
    path = _path(api, tenant, [course])
    api.post(url(tenant, "achievements"), {"name": "A"}, format="json")

    assert api.post(url(tenant, "achievements"), {"name": "A"}, format="json").status_code == 409
    both = api.post(url(tenant, "achievements"), {"name": "B", "courseId": str(course.pk), "pathId": path["id"]}, format="json")
    assert both.status_code == 400
