"""Training lists: SPEC pagination with a cursor, filters (updatedSince too), scopes, and the OpenAPI document."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from learning.training.models import Lesson
from tests.factories import make_api_key
from tests.learning.training.factories import lesson, published_course, url

pytestmark = pytest.mark.django_db


def test_lessons_page_by_limit_offset_and_cursor(api, tenant):
    course = published_course(tenant)
    ids = sorted(str(lesson(tenant, course, f"L{i}").pk) for i in range(5))

    first = api.get(url(tenant, "lessons"), {"limit": 2}).json()
    second = api.get(url(tenant, "lessons"), {"limit": 2, "cursor": first["nextCursor"]}).json()
    by_offset = api.get(url(tenant, "lessons"), {"limit": 2, "offset": 2}).json()

    assert first["pagination"] == {"total": 5, "limit": 2, "offset": 0, "hasMore": True}
    assert [x["id"] for x in second["data"]] == ids[2:4] == [x["id"] for x in by_offset["data"]]


def test_updated_since_and_resource_filters(api, tenant):
    course, other = published_course(tenant), published_course(tenant, "Other")
    old = lesson(tenant, course, "Old")
    Lesson.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    fresh = lesson(tenant, course, "Fresh")
    lesson(tenant, other, "Elsewhere")
    since = (timezone.now() - timedelta(days=1)).isoformat()

    listed = api.get(url(tenant, "lessons"), {"updatedSince": since, "courseId": str(course.pk)}).json()

    assert [x["id"] for x in listed["data"]] == [str(fresh.pk)]


@pytest.mark.parametrize("params", [{"updatedSince": "yesterday"}, {"courseId": "nope"}, {"limit": 0}, {"cursor": "garbage"}])
def test_bad_list_parameters_are_a_400(api, tenant, params):
    assert api.get(url(tenant, "lessons"), params).status_code == 400


def test_courses_scope_guards_content_and_enrollments_scope_guards_learner_activity(tenant):
    course = published_course(tenant)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, scopes=['courses:read'])}")

    assert reader.get(url(tenant, "lessons")).status_code == 200
    assert reader.post(url(tenant, "lessons"), {"courseId": str(course.pk), "title": "x", "body": "y"}, format="json").status_code == 403
    assert reader.get(url(tenant, "class-enrollments")).status_code == 403
    assert reader.post(url(tenant, "vouchers/redeem"), {"code": "X", "learnerId": "y"}, format="json").status_code == 403


def test_every_training_route_is_typed_in_openapi():
    spec = APIClient().get("/api/v1/openapi.json").json()
    prefix = "/api/v1/tenants/{slug}/"
    ours = {p: ops for p, ops in spec["paths"].items() if p.startswith(prefix) and p[len(prefix):].split("/")[0] in {
        "lessons", "quizzes", "quiz-attempts", "paths", "path-enrollments", "classes", "class-enrollments", "feedback",
        "achievements", "achievement-awards", "vouchers", "purchases", "training-settings"}}
    ours.update({p: ops for p, ops in spec["paths"].items() if p.endswith(("/archive", "/progress", "/lessons/{lesson_id}/complete", "/quiz-attempts"))})
    assert len(ours) >= 30
    for path, operations in ours.items():
        for method, operation in operations.items():
            if method not in {"get", "post", "patch", "put", "delete"}:
                continue
            codes = set(operation["responses"])
            success = sorted(c for c in codes if c.startswith("2"))
            assert success, (path, method)
            if method == "get":
                assert success == ["200"], (path, method)
            for code in success:
                if code != "204":
                    assert "application/json" in operation["responses"][code]["content"], (path, method, code)
            assert {"401", "403"} <= codes, (path, method)
            if method in {"post", "patch", "put"} and operation.get("requestBody"):
                assert "400" in codes, (path, method)
