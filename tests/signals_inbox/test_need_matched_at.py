"""A need's signal-resolution time is `matchedAt`; `resolvedAt` stays one release as a deprecated alias."""
from __future__ import annotations

import pytest

from tests.console.factories import need_row

pytestmark = pytest.mark.django_db


def test_matched_at_with_the_deprecated_alias(api):  # noqa: ANN001
    from django.utils import timezone

    need = need_row(api.tenant, resolved_at=timezone.now(), target="unmatched", worker_ref="W-1")
    body = api.get(f"/api/v1/tenants/{api.tenant.slug}/needs/{need.pk}").json()
    assert body["status"] == "open" and body["matchedAt"] is not None
    assert body["resolvedAt"] == body["matchedAt"]
    listed = api.get(f"/api/v1/tenants/{api.tenant.slug}/needs").json()["data"][0]
    assert listed["matchedAt"] == body["matchedAt"]


def test_the_openapi_document_marks_the_alias_deprecated(client):  # noqa: ANN001
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["NeedOutput"]["properties"]
    assert schema["resolvedAt"]["deprecated"] is True and "matchedAt" in schema["resolvedAt"]["description"]
    assert "deprecated" not in schema["matchedAt"] and "not when the need was resolved" in schema["matchedAt"]["description"]
