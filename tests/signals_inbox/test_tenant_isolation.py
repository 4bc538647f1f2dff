"""Tenant isolation of every inbox route: another tenant's objects are "not found", lists show only your own."""
from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from learning.models import Assignment
from learning.services import assignment_create
from signals_inbox.models import Need, RejectedSignal
from tests.factories import LearnerFactory, TenantFactory, make_api_key
from tests.signals_inbox.factories import issue_secret, post_signal, published_course, send_and_resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(client):
    """Another tenant with a signal, a need, a rejected signal, a course and an assignment."""
    other = TenantFactory()
    secret = issue_secret(other)
    learner = LearnerFactory(tenant=other, email="them@other.com")
    course = published_course(other, title="Theirs", topic="Theirs")
    need = send_and_resolve(client, other, secret, email="them@other.com", topic="Theirs")
    post_signal(client, other.slug, json.dumps({"event": "signal.x", "data": {"site": "S"}}).encode(), secret=secret)
    assignment, _ = assignment_create(tenant=other, learner=learner, course=course)
    return {
        "tenant": other,
        "need": need,
        "signal": need.signals.get(),
        "rejected": RejectedSignal.objects.get(tenant=other),
        "course": course,
        "assignment": assignment,
    }


def test_object_routes_of_another_tenant_are_not_found(api, theirs):
    base = f"/api/v1/tenants/{api.tenant.slug}"
    need, signal = theirs["need"], theirs["signal"]
    calls = [
        ("get", f"{base}/signals/{signal.pk}", None),
        ("post", f"{base}/signals/rejected/{theirs['rejected'].pk}/reprocess", None),
        ("get", f"{base}/needs/{need.pk}", None),
        ("post", f"{base}/needs/{need.pk}/offer", {}),
        ("post", f"{base}/needs/{need.pk}/author", None),
        ("post", f"{base}/needs/{need.pk}/dismiss", {"reason": "not mine"}),
        ("get", f"{base}/courses/{theirs['course'].pk}", None),
        ("post", f"{base}/courses/{theirs['course'].pk}/publish", None),
        ("get", f"{base}/assignments/{theirs['assignment'].pk}", None),
        ("post", f"{base}/assignments/{theirs['assignment'].pk}/complete", None),
    ]

    statuses = {url: getattr(api, method)(url, body, format="json").status_code for method, url, body in calls}

    assert set(statuses.values()) == {404}, statuses
    assert Need.objects.get(pk=need.pk).status == "open"
    assert Assignment.objects.get(pk=theirs["assignment"].pk).status == "assigned"


def test_lists_show_only_the_callers_tenant(api, theirs):
    base = f"/api/v1/tenants/{api.tenant.slug}"

    for path in ("signals", "signals/rejected", "needs", "readiness", "courses", "assignments"):
        body = api.get(f"{base}/{path}").json()
        assert body["data"] == [], path


def test_a_key_used_on_another_tenants_slug_is_not_found(api, theirs):
    other = theirs["tenant"].slug

    for path in ("signals", "needs", f"needs/{theirs['need'].pk}", "readiness", "courses", "assignments"):
        assert api.get(f"/api/v1/tenants/{other}/{path}").status_code == 404, path


def test_offer_cannot_target_another_tenants_learners_or_course(api, client, tenant, secret, theirs):
    LearnerFactory(tenant=tenant, email="me@mine.com")
    published_course(tenant, title="Mine", topic="Mine")
    need = send_and_resolve(client, tenant, secret, email="me@mine.com", topic="Mine")
    url = f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/offer"
    their_learner = theirs["assignment"].learner_id

    by_learner = api.post(url, {"learnerIds": [str(their_learner)]}, format="json")
    by_course = api.post(url, {"courseId": str(theirs["course"].pk)}, format="json")

    assert (by_learner.status_code, by_course.status_code) == (400, 400)
    assert not Assignment.objects.filter(tenant=tenant).exists()


def test_needs_read_scope_is_required(tenant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, scopes=['learners:read'])}")

    assert client.get(f"/api/v1/tenants/{tenant.slug}/needs").status_code == 403
    assert client.get(f"/api/v1/tenants/{tenant.slug}/readiness").status_code == 403
