"""Courses and assignments over the API: drafts, publishing, assigning, completing."""
from __future__ import annotations

import pytest

from learning.models import Assignment
from tests.factories import LearnerFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _course(api, **body):
    return api.post(f"/api/v1/tenants/{api.tenant.slug}/courses", {"title": "Ladders", "topic": "Ladder Safety", **body}, format="json")


def test_course_is_created_as_a_draft_and_published(api):
    created = _course(api)

    published = api.post(f"/api/v1/tenants/{api.tenant.slug}/courses/{created.json()['id']}/publish")

    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert published.json()["status"] == "published" and published.json()["publishedAt"]


def test_draft_cannot_be_assigned(api, tenant):
    course = _course(api).json()
    learner = LearnerFactory(tenant=tenant)

    response = api.post(f"/api/v1/tenants/{tenant.slug}/assignments", {"learnerId": str(learner.pk), "courseId": course["id"]}, format="json")

    assert response.status_code == 400
    assert not Assignment.objects.exists()


def test_assign_and_complete_record_enrolled_and_completed(api, tenant):
    course = _course(api, publish=True).json()
    learner = LearnerFactory(tenant=tenant)

    assigned = api.post(
        f"/api/v1/tenants/{tenant.slug}/assignments",
        {"learnerId": str(learner.pk), "courseId": course["id"], "dueDate": "2030-01-31"},
        format="json",
    )
    again = api.post(f"/api/v1/tenants/{tenant.slug}/assignments", {"learnerId": str(learner.pk), "courseId": course["id"]}, format="json")
    completed = api.post(f"/api/v1/tenants/{tenant.slug}/assignments/{assigned.json()['id']}/complete")

    assert assigned.status_code == 201 and assigned.json()["dueDate"] == "2030-01-31"
    assert again.status_code == 200 and again.json()["id"] == assigned.json()["id"]
    assert completed.json()["status"] == "completed"
    assert Event.objects.filter(type="course.enrolled").count() == 1
    assert Event.objects.filter(type="course.completed").count() == 1


def test_assignments_filter_by_learner_and_status(api, tenant):
    course = _course(api, publish=True).json()
    one, two = LearnerFactory(tenant=tenant), LearnerFactory(tenant=tenant)
    for learner in (one, two):
        api.post(f"/api/v1/tenants/{tenant.slug}/assignments", {"learnerId": str(learner.pk), "courseId": course["id"]}, format="json")

    listed = api.get(f"/api/v1/tenants/{tenant.slug}/assignments", {"learnerId": str(one.pk), "status": "assigned"}).json()

    assert [a["learnerId"] for a in listed["data"]] == [str(one.pk)]


def test_course_routes_need_the_courses_scope(tenant):
    from rest_framework.test import APIClient

    from tests.factories import make_api_key

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, scopes=['courses:read'])}")

    assert client.get(f"/api/v1/tenants/{tenant.slug}/courses").status_code == 200
    assert client.post(f"/api/v1/tenants/{tenant.slug}/courses", {"title": "X"}, format="json").status_code == 403
    assert client.get(f"/api/v1/tenants/{tenant.slug}/assignments").status_code == 403


def test_expiry_sweep_expires_overdue_assignments(tenant):
    from datetime import date

    from learning.services import assignment_create, course_create, course_publish
    from learning.training.services.lifecycle import assignments_expire

    course = course_publish(course=course_create(tenant=tenant, title="X"))
    assignment, _ = assignment_create(tenant=tenant, learner=LearnerFactory(tenant=tenant), course=course, due_date=date(2020, 1, 1))

    assert assignments_expire() == 1
    assert assignments_expire() == 0
    assignment.refresh_from_db()
    assert assignment.status == "expired"
    assert Event.objects.filter(type="assignment.expired").count() == 1
