"""The admin API: console session or staff token (never API keys); the map round-trips; preview stores nothing."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tenants.services import staff_token_create
from signals_inbox.models import AuditEntry, Need, Signal
from tenants.services import membership_grant
from tests.factories import LearnerFactory, TenantFactory, make_api_key
from tests.signals_inbox.factories import published_course

pytestmark = pytest.mark.django_db

MAP_BODY = {
    "map": {
        "license_expiring": {"topic": "Working at Heights", "category": "Refresher", "severity": 3},
        "near_miss": {"topic": "Hazard Awareness", "category": "Toolbox", "severity": 4},
    },
    "autoAuthor": False,
}


def _staff(tenant, *, member: bool = True, username: str = "ops"):
    user = get_user_model().objects.create_user(username=username, password="pw-123456", is_staff=True)
    if member:
        membership_grant(tenant=tenant, user=user)
    return user


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_token_create(user=user, name='ci')[1]}")
    return client


def _url(tenant, suffix: str = "") -> str:
    return f"/api/v1/admin/tenants/{tenant.slug}/signal-map{suffix}"


def test_put_then_get_round_trips_the_map(tenant):
    client = _token_client(_staff(tenant))

    put = client.put(_url(tenant), MAP_BODY, format="json")
    got = client.get(_url(tenant)).json()

    assert put.status_code == 200, put.json()
    assert got["map"] == MAP_BODY["map"]
    assert got["autoAuthor"] is False
    assert got["autoAuthorThreshold"] == 3
    audit = AuditEntry.objects.get(action="signal_map_changed")
    assert audit.actor == "user:ops"
    assert audit.details["added"] == ["license_expiring", "near_miss"]


def test_put_replaces_the_whole_map_and_toggles_auto_author(tenant):
    client = _token_client(_staff(tenant))
    client.put(_url(tenant), MAP_BODY, format="json")

    client.put(_url(tenant), {"map": {"near_miss": {"topic": "Hazards"}}, "autoAuthor": True}, format="json")

    got = client.get(_url(tenant)).json()
    assert got["map"] == {"near_miss": {"topic": "Hazards"}}
    assert got["autoAuthor"] is True


def test_console_session_of_a_member_works(client, tenant):
    _staff(tenant)
    client.login(username="ops", password="pw-123456")

    response = client.get(_url(tenant))

    assert response.status_code == 200


def test_session_write_needs_the_csrf_token(tenant):
    _staff(tenant)
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="ops", password="pw-123456")

    response = client.put(_url(tenant), MAP_BODY, format="json")

    assert response.status_code == 403


def test_api_keys_are_refused(tenant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}")

    response = client.get(_url(tenant))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_anonymous_is_refused(client, tenant):
    assert client.get(_url(tenant)).status_code == 401


def test_staff_of_another_tenant_gets_not_found(tenant):
    other = TenantFactory()
    client = _token_client(_staff(other))

    assert client.get(_url(tenant)).status_code == 404
    assert client.put(_url(tenant), MAP_BODY, format="json").status_code == 404


def test_invalid_map_is_400_and_changes_nothing(tenant):
    client = _token_client(_staff(tenant))
    client.put(_url(tenant), MAP_BODY, format="json")

    response = client.put(_url(tenant), {"map": {"near_miss": {"severity": 9}}, "autoAuthor": False}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "map", "reason": "near_miss.severity: must be an integer from 1 to 4", "errors": [{"field": "map", "reason": "near_miss.severity: must be an integer from 1 to 4"}]}
    assert client.get(_url(tenant)).json()["map"] == MAP_BODY["map"]


def test_preview_answers_what_would_happen_and_stores_nothing(tenant):
    client = _token_client(_staff(tenant))
    client.put(_url(tenant), MAP_BODY, format="json")
    learner = LearnerFactory(tenant=tenant, email="jordan@acme.com")
    course = published_course(tenant, title="WAH", topic="Working at Heights")

    response = client.post(_url(tenant, "/preview"), {"event": "signal.license_expiring", "data": {"email": "jordan@acme.com"}}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["outcome"] == "accepted"
    assert (body["topic"], body["category"], body["severity"]) == ("Working at Heights", "Refresher", 3)
    assert (body["target"], body["learnerId"]) == ("worker", str(learner.pk))
    assert body["recommendation"]["courseId"] == str(course.pk)
    assert body["dedupeKey"] == "license_expiring:jordan@acme.com:working at height"
    assert body["deduped"] is False
    assert not Signal.objects.exists() and not Need.objects.exists()


def test_preview_with_a_draft_map_shows_cohort_and_author(tenant):
    client = _token_client(_staff(tenant))

    response = client.post(
        _url(tenant, "/preview"),
        {"signal": {"event": "signal.near_miss", "data": {"site": "Site A"}}, "map": {"near_miss": {"topic": "Hazard Awareness"}}},
        format="json",
    )

    body = response.json()
    assert (body["target"], body["site"], body["action"], body["topic"]) == ("cohort", "Site A", "author", "Hazard Awareness")


def test_preview_of_an_invalid_signal_says_why(tenant):
    client = _token_client(_staff(tenant))

    response = client.post(_url(tenant, "/preview"), {"event": "signal.near_miss", "data": {"site": "A"}}, format="json")

    assert response.json() == {"outcome": "rejected", "detail": "no topic: send data.topic, or map type 'near_miss' to a topic in the signal map"}


def test_map_change_applies_to_the_next_signal(tenant, django_capture_on_commit_callbacks):
    from django.test import Client

    from tests.signals_inbox.factories import issue_secret, post_signal, signal_body

    secret = issue_secret(tenant)
    webhook = Client()
    first = post_signal(webhook, tenant.slug, signal_body("signal.near_miss", site="A"), secret=secret)
    with django_capture_on_commit_callbacks(execute=True):
        _token_client(_staff(tenant)).put(_url(tenant), MAP_BODY, format="json")

    second = post_signal(webhook, tenant.slug, signal_body("signal.near_miss", site="A"), secret=secret)

    assert first.status_code == 400
    assert second.status_code == 200
    assert Need.objects.get().topic == "Hazard Awareness"
