"""Roles mean something: every write route of the tenant API × every role, against the README's role table.

The table below is written out by hand, apart from the code's table, so a change to either shows up
here. A write route that is not in it fails `test_every_write_route_is_in_the_matrix`: a new route
states who may call it before it ships.
"""
from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver

from skillhub.urls import tenant_api
from tenants.models import SCOPES, Role
from tests.factories import make_api_key
from tests.learning.evidence_helpers import client_for

ADMIN, FACILITATOR, ASSESSOR, MODERATOR, VIEWER = "admin", "facilitator", "assessor", "moderator", "viewer"
MANAGES_LEARNERS = {ADMIN, FACILITATOR}
ONLY_ADMIN = {ADMIN}

# (method, route) → roles that may call it (with every scope on the key).
MATRIX: dict[tuple[str, str], set[str]] = {
    ("POST", "learners"): MANAGES_LEARNERS,
    ("POST", "learners/bulk"): MANAGES_LEARNERS,
    ("PATCH", "learners/<str:learner_id>"): MANAGES_LEARNERS,
    ("DELETE", "learners/<str:learner_id>"): MANAGES_LEARNERS,
    ("POST", "learners/<str:learner_id>/credentials"): MANAGES_LEARNERS,
    ("PATCH", "credentials/<str:credential_id>"): MANAGES_LEARNERS,
    ("DELETE", "credentials/<str:credential_id>"): MANAGES_LEARNERS,
    ("POST", "onboarding-steps"): ONLY_ADMIN,
    ("POST", "learners/<str:learner_id>/onboarding/<str:step_id>"): MANAGES_LEARNERS,
    ("DELETE", "learners/<str:learner_id>/onboarding/<str:step_id>"): MANAGES_LEARNERS,
    ("POST", "courses"): ONLY_ADMIN,
    ("PATCH", "courses/<str:course_id>"): ONLY_ADMIN,
    ("POST", "courses/<str:course_id>/publish"): ONLY_ADMIN,
    ("POST", "assignments"): MANAGES_LEARNERS,
    ("POST", "assignments/<str:assignment_id>/complete"): MANAGES_LEARNERS,
    ("POST", "evidence"): {ADMIN, FACILITATOR, ASSESSOR},
    ("PATCH", "evidence/<str:evidence_id>"): {ADMIN, FACILITATOR, ASSESSOR},
    ("POST", "assessments"): {ADMIN, ASSESSOR},
    ("POST", "assessments/<str:assessment_id>/moderation"): {ADMIN, MODERATOR},
    ("POST", "exports"): MANAGES_LEARNERS,
    ("POST", "webhooks"): ONLY_ADMIN,
    ("PUT", "webhooks/<str:endpoint_id>"): ONLY_ADMIN,
    ("PATCH", "webhooks/<str:endpoint_id>"): ONLY_ADMIN,
    ("DELETE", "webhooks/<str:endpoint_id>"): ONLY_ADMIN,
    ("POST", "webhooks/<str:endpoint_id>/ping"): ONLY_ADMIN,
    ("POST", "webhooks/<str:endpoint_id>/rotate-secret"): ONLY_ADMIN,
    ("POST", "webhooks/<str:endpoint_id>/replay"): ONLY_ADMIN,
    ("POST", "webhooks/deliveries/<str:delivery_id>/retry"): ONLY_ADMIN,
    ("PUT", "retention"): ONLY_ADMIN,
    ("PATCH", "retention"): ONLY_ADMIN,
    ("POST", "signals/rejected/<int:rejected_id>/reprocess"): ONLY_ADMIN,
    ("POST", "needs/<str:need_id>/offer"): ONLY_ADMIN,
    ("POST", "needs/<str:need_id>/author"): ONLY_ADMIN,
    ("POST", "needs/<str:need_id>/dismiss"): ONLY_ADMIN,
    # training management: content is the admin's; people in classes and courses the facilitator's too
    ("POST", "achievement-awards"): MANAGES_LEARNERS,
    ("POST", "achievements"): ONLY_ADMIN,
    ("DELETE", "achievements/<str:pk>"): ONLY_ADMIN,
    ("PATCH", "achievements/<str:pk>"): ONLY_ADMIN,
    ("POST", "assignments/<str:assignment_id>/lessons/<str:lesson_id>/complete"): MANAGES_LEARNERS,
    ("POST", "assignments/<str:assignment_id>/quiz-attempts"): MANAGES_LEARNERS,
    ("POST", "class-enrollments"): MANAGES_LEARNERS,
    ("POST", "class-enrollments/<str:pk>/status"): MANAGES_LEARNERS,
    ("POST", "classes"): MANAGES_LEARNERS,
    ("DELETE", "classes/<str:pk>"): MANAGES_LEARNERS,
    ("PATCH", "classes/<str:pk>"): MANAGES_LEARNERS,
    ("POST", "classes/<str:pk>/status"): MANAGES_LEARNERS,
    ("POST", "courses/<str:pk>/archive"): ONLY_ADMIN,
    ("POST", "feedback"): MANAGES_LEARNERS,
    ("DELETE", "feedback/<str:pk>"): MANAGES_LEARNERS,
    ("POST", "lessons"): ONLY_ADMIN,
    ("DELETE", "lessons/<str:pk>"): ONLY_ADMIN,
    ("PATCH", "lessons/<str:pk>"): ONLY_ADMIN,
    ("POST", "path-enrollments"): MANAGES_LEARNERS,
    ("POST", "path-enrollments/<str:pk>/complete"): MANAGES_LEARNERS,
    ("POST", "paths"): ONLY_ADMIN,
    ("DELETE", "paths/<str:pk>"): ONLY_ADMIN,
    ("PATCH", "paths/<str:pk>"): ONLY_ADMIN,
    ("POST", "purchases"): MANAGES_LEARNERS,
    ("POST", "purchases/<str:pk>/fulfil"): MANAGES_LEARNERS,
    ("POST", "quiz-attempts/<str:pk>/grade"): {ADMIN, FACILITATOR, ASSESSOR},
    ("POST", "quizzes"): ONLY_ADMIN,
    ("DELETE", "quizzes/<str:pk>"): ONLY_ADMIN,
    ("PATCH", "quizzes/<str:pk>"): ONLY_ADMIN,
    ("PUT", "training-settings"): ONLY_ADMIN,
    ("POST", "vouchers"): ONLY_ADMIN,
    ("DELETE", "vouchers/<str:pk>"): ONLY_ADMIN,
    ("PATCH", "vouchers/<str:pk>"): ONLY_ADMIN,
    ("POST", "vouchers/redeem"): MANAGES_LEARNERS,
    # keys (never more rights than the calling key), groups with members, sites
    ("POST", "api-keys"): MANAGES_LEARNERS,
    ("DELETE", "api-keys/<str:key_id>"): MANAGES_LEARNERS,
    ("POST", "api-keys/<str:key_id>/rotate"): MANAGES_LEARNERS,
    ("POST", "groups"): MANAGES_LEARNERS,
    ("PATCH", "groups/<str:group_id>"): MANAGES_LEARNERS,
    ("DELETE", "groups/<str:group_id>"): MANAGES_LEARNERS,
    ("POST", "sites"): ONLY_ADMIN,
    ("PATCH", "sites/<str:site_id>"): ONLY_ADMIN,
}
ROLES = [r.value for r in Role]
WRITE_METHODS = ("post", "put", "patch", "delete")


def _walk(patterns: list, prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for item in patterns:
        if isinstance(item, URLResolver):
            found += _walk(item.url_patterns, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            found.append((prefix + str(item.pattern), getattr(item.callback, "view_class", None)))
    return found


def write_routes() -> set[tuple[str, str]]:
    return {
        (method.upper(), route)
        for route, view in _walk(tenant_api)
        if view is not None
        for method in WRITE_METHODS
        if hasattr(view, method)
    }


def _path(route: str) -> str:
    # Ids that exist nowhere: an allowed role gets past the role check to a 404 or a 400.
    route = re.sub(r"<int:[^>]+>", "999999", route)
    return re.sub(r"<str:[^>]+>", "00000000-0000-7000-8000-000000000000", route)


def test_every_write_route_is_in_the_matrix():
    assert write_routes() == set(MATRIX)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "route"), sorted(MATRIX), ids=lambda v: v if isinstance(v, str) else None)
def test_each_role_may_call_exactly_its_write_routes(tenant, method, route, role):
    client = client_for(make_api_key(tenant, role=role, scopes=list(SCOPES)))

    response = client.generic(method, f"/api/v1/tenants/{tenant.slug}/{_path(route)}", "{}", content_type="application/json")

    if role in MATRIX[(method, route)]:
        assert response.status_code != 403, (method, route, role, response.content)
        assert response.status_code < 500
    else:
        assert response.status_code == 403, (method, route, role, response.status_code)
        assert response.json()["error"]["code"] == "FORBIDDEN"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "route"), sorted(MATRIX), ids=lambda v: v if isinstance(v, str) else None)
def test_an_admin_key_without_the_write_scope_is_refused(tenant, method, route):
    read_only = [scope for scope in SCOPES if scope.endswith(":read")]
    client = client_for(make_api_key(tenant, role=ADMIN, scopes=read_only))

    response = client.generic(method, f"/api/v1/tenants/{tenant.slug}/{_path(route)}", "{}", content_type="application/json")

    assert response.status_code == 403
    assert ":write scope" in response.json()["error"]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_with_the_read_scope(tenant, role):
    client = client_for(make_api_key(tenant, role=role, scopes=[s for s in SCOPES if s.endswith(":read")]))
    for collection in ("learners", "evidence", "assessments", "exports", "tasks", "onboarding-steps", "webhooks", "needs"):
        response = client.get(f"/api/v1/tenants/{tenant.slug}/{collection}")
        assert response.status_code == 200, (collection, role, response.content)
