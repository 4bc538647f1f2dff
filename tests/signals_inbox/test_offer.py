"""Offer: real assignments with a due date for the worker, chosen learners, a group or a site."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from learning.models import Assignment
from signals_inbox.models import AuditEntry, NeedStatus
from tests.factories import GroupFactory, LearnerFactory, SiteFactory
from tests.signals_inbox.factories import published_course, send_and_resolve
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_need(client, tenant, secret):
    LearnerFactory(tenant=tenant, email="jordan@acme.com")
    published_course(tenant, title="WAH refresher", topic="Working at Heights")
    return send_and_resolve(client, tenant, secret, email="jordan@acme.com", topic="Working at Heights")


def _offer(api, need, **body):
    return api.post(f"/api/v1/tenants/{need.tenant.slug}/needs/{need.pk}/offer", body, format="json")


def test_offer_without_target_assigns_the_recommended_course_to_the_worker(api, worker_need):
    response = _offer(api, worker_need)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "offered"
    assignment = Assignment.objects.get()
    assert assignment.learner_id == worker_need.learner_id
    assert assignment.course_id == worker_need.recommended_course_id
    assert assignment.due_date == timezone.localdate() + timedelta(days=14)
    assert assignment.source == f"need:{worker_need.pk}"
    enrolled = Event.objects.get(type="course.enrolled")
    offered = Event.objects.get(type="need.offered")
    assert enrolled.data["learnerId"] == str(worker_need.learner_id)
    assert offered.data["assignmentIds"] == [str(assignment.pk)]
    audit = AuditEntry.objects.get(action="offered")
    assert audit.actor.startswith("api-key:shk_") and audit.need_id == worker_need.pk


def test_offer_to_chosen_learners_with_a_due_date(api, tenant, worker_need):
    chosen = [LearnerFactory(tenant=tenant), LearnerFactory(tenant=tenant)]
    due = (timezone.localdate() + timedelta(days=3)).isoformat()

    response = _offer(api, worker_need, learnerIds=[str(l.pk) for l in chosen], dueDate=due)

    assert response.status_code == 200
    assert sorted(a.learner_id for a in Assignment.objects.all()) == sorted(l.pk for l in chosen)
    assert {a.due_date.isoformat() for a in Assignment.objects.all()} == {due}
    assert Event.objects.filter(type="course.enrolled").count() == 2


def test_offer_to_a_group(api, tenant, worker_need):
    group = GroupFactory(tenant=tenant)
    members = [LearnerFactory(tenant=tenant) for _ in range(2)]
    for member in members:
        member.groups.add(group)

    response = _offer(api, worker_need, groupId=str(group.pk))

    assert response.status_code == 200
    assert sorted(a.learner_id for a in Assignment.objects.all()) == sorted(m.pk for m in members)


def test_offer_to_a_whole_site(api, tenant, worker_need):
    site = SiteFactory(tenant=tenant, name="Site Z")
    crew = [LearnerFactory(tenant=tenant, site=site) for _ in range(3)]

    response = _offer(api, worker_need, site="Site Z")

    assert response.status_code == 200
    assert sorted(a.learner_id for a in Assignment.objects.all()) == sorted(l.pk for l in crew)


def test_offer_of_a_chosen_course(api, tenant, worker_need):
    other = published_course(tenant, title="Ladders", topic="Ladder Safety")

    response = _offer(api, worker_need, courseId=str(other.pk))

    assert response.status_code == 200
    assert Assignment.objects.get().course_id == other.pk


def test_offer_refuses_a_draft_course(api, tenant, worker_need):
    from learning.services import course_create

    draft = course_create(tenant=tenant, title="Draft")

    response = _offer(api, worker_need, courseId=str(draft.pk))

    assert response.status_code == 400
    assert not Assignment.objects.exists()


def test_offer_refuses_two_target_kinds(api, tenant, worker_need):
    response = _offer(api, worker_need, site="Site A", learnerIds=[str(worker_need.learner_id)])

    assert response.status_code == 400
    assert not Assignment.objects.exists()


def test_offer_of_an_unmatched_need_needs_a_target(api, client, tenant, secret):
    published_course(tenant, title="WAH", topic="Working at Heights")
    need = send_and_resolve(client, tenant, secret, external_worker_id="W-404", topic="Working at Heights")

    response = _offer(api, need)

    assert response.status_code == 400
    assert "matched no learner" in response.json()["error"]["details"]["reason"]


def test_offer_without_any_fitting_course_asks_for_one(api, client, tenant, secret):
    LearnerFactory(tenant=tenant, email="x@y.z")
    need = send_and_resolve(client, tenant, secret, email="x@y.z", topic="Confined Spaces")

    response = _offer(api, need)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "courseId"


def test_offer_of_a_dismissed_need_is_a_conflict(api, worker_need):
    from signals_inbox.services import need_dismiss

    need_dismiss(need=worker_need, actor="test", reason="done")

    response = _offer(api, worker_need)

    assert response.status_code == 409
    worker_need.refresh_from_db()
    assert worker_need.status == NeedStatus.DISMISSED


def test_offer_past_due_date_is_refused(api, worker_need):
    response = _offer(api, worker_need, dueDate="2000-01-01")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "dueDate"


def test_offer_needs_the_needs_write_scope(client, tenant, worker_need):
    from rest_framework.test import APIClient

    from tests.factories import make_api_key

    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, scopes=['needs:read'])}")

    response = reader.post(f"/api/v1/tenants/{tenant.slug}/needs/{worker_need.pk}/offer", {}, format="json")

    assert response.status_code == 403
    assert not Assignment.objects.exists()
