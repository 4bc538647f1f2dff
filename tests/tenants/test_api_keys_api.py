"""API keys over the API: issued with no more rights than the caller, shown once, rotated with an overlap, revoked."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from skillhub.crypto import token_hash
from tenants.models import ApiKey
from tests.factories import TenantFactory, make_api_key

pytestmark = pytest.mark.django_db

KEYS = "/api/v1/tenants/acme/api-keys"


def _client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def tenant():  # noqa: ANN201
    return TenantFactory(slug="acme")


def test_an_admin_key_issues_a_narrower_key_shown_once_and_stored_as_a_hash(tenant):  # noqa: ANN001
    admin = _client(make_api_key(tenant))
    response = admin.post(KEYS, {"name": "HR sync", "role": "facilitator", "scopes": ["learners:read", "learners:write"]}, format="json")
    assert response.status_code == 201
    body = response.json()
    raw = body["key"]
    assert raw.startswith("shk_") and body["prefix"] == raw[:12] and body["role"] == "facilitator"
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.key_hash == token_hash(raw) and raw not in str(ApiKey.objects.filter(pk=body["id"]).values())
    listed = admin.get(KEYS).json()
    assert raw not in str(listed) and body["id"] in {k["id"] for k in listed["data"]}
    assert "key" not in admin.get(f"{KEYS}/{body['id']}").json()
    # The new key works at once, within its scopes.
    assert _client(raw).get("/api/v1/tenants/acme/learners").status_code == 200
    assert _client(raw).get("/api/v1/tenants/acme/courses").status_code == 403


def test_a_key_cannot_grant_a_scope_it_lacks_or_a_role_that_may_do_more(tenant):  # noqa: ANN001
    narrow = _client(make_api_key(tenant, role="facilitator", scopes=["keys:write", "keys:read", "learners:read"]))
    wider_scope = narrow.post(KEYS, {"name": "x", "role": "viewer", "scopes": ["learners:write"]}, format="json")
    assert wider_scope.status_code == 403 and "learners:write" in wider_scope.json()["error"]["message"]
    higher_role = narrow.post(KEYS, {"name": "x", "role": "admin", "scopes": ["learners:read"]}, format="json")
    assert higher_role.status_code == 403 and higher_role.json()["error"]["code"] == "FORBIDDEN"
    # A moderator may moderate, which a facilitator may not: not "no higher".
    assert narrow.post(KEYS, {"name": "x", "role": "moderator", "scopes": []}, format="json").status_code == 403
    assert ApiKey.objects.count() == 1
    same = narrow.post(KEYS, {"name": "ok", "role": "viewer", "scopes": ["learners:read"]}, format="json")
    assert same.status_code == 201


def test_viewers_and_keys_without_the_scope_cannot_issue_keys(tenant):  # noqa: ANN001
    viewer = _client(make_api_key(tenant, role="viewer"))
    assert viewer.post(KEYS, {"name": "x", "role": "viewer", "scopes": []}, format="json").status_code == 403
    no_scope = _client(make_api_key(tenant, scopes=["learners:read"]))
    assert no_scope.get(KEYS).status_code == 403


def test_unknown_scopes_and_roles_are_validation_errors(tenant):  # noqa: ANN001
    admin = _client(make_api_key(tenant))
    response = admin.post(KEYS, {"name": "x", "role": "root", "scopes": ["root:all"]}, format="json")
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["error"]["details"]["errors"]}
    assert "role" in fields and any(f.startswith("scopes") for f in fields)
    assert ApiKey.objects.count() == 1


def test_rotation_gives_a_new_secret_and_the_old_one_works_for_the_overlap_only(tenant):  # noqa: ANN001
    admin = _client(make_api_key(tenant))
    issued = admin.post(KEYS, {"name": "HR", "role": "viewer", "scopes": ["learners:read"]}, format="json").json()
    old_raw = issued["key"]
    rotated = admin.post(f"{KEYS}/{issued['id']}/rotate", {}, format="json")
    assert rotated.status_code == 200
    new_raw = rotated.json()["key"]
    assert new_raw != old_raw and rotated.json()["previousPrefix"] == old_raw[:12]
    assert _client(new_raw).get("/api/v1/tenants/acme/learners").status_code == 200
    assert _client(old_raw).get("/api/v1/tenants/acme/learners").status_code == 200
    ApiKey.objects.filter(pk=issued["id"]).update(previous_valid_until=timezone.now() - timedelta(seconds=1))
    from django.core.cache import cache

    from skillhub import localcache

    cache.clear()
    localcache.clear()
    assert _client(old_raw).get("/api/v1/tenants/acme/learners").status_code == 401
    assert _client(new_raw).get("/api/v1/tenants/acme/learners").status_code == 200


def test_rotation_without_overlap_stops_the_old_secret_at_once(tenant):  # noqa: ANN001
    admin = _client(make_api_key(tenant))
    issued = admin.post(KEYS, {"name": "HR", "role": "viewer", "scopes": ["learners:read"]}, format="json").json()
    assert _client(issued["key"]).get("/api/v1/tenants/acme/learners").status_code == 200  # cached now
    admin.post(f"{KEYS}/{issued['id']}/rotate", {"overlapHours": 0}, format="json")
    assert _client(issued["key"]).get("/api/v1/tenants/acme/learners").status_code == 401


def test_delete_revokes_at_once_and_a_narrow_key_cannot_revoke_a_wider_one(tenant):  # noqa: ANN001
    admin_raw = make_api_key(tenant)
    admin = _client(admin_raw)
    admin_id = str(ApiKey.objects.get(prefix=admin_raw[:12]).pk)
    narrow = _client(make_api_key(tenant, role="facilitator", scopes=["keys:read", "keys:write"]))
    refused = narrow.delete(f"{KEYS}/{admin_id}")
    assert refused.status_code == 403 and ApiKey.objects.get(pk=admin_id).revoked_at is None
    assert narrow.post(f"{KEYS}/{admin_id}/rotate", {}, format="json").status_code == 403
    issued = admin.post(KEYS, {"name": "HR", "role": "viewer", "scopes": ["learners:read"]}, format="json").json()
    assert admin.delete(f"{KEYS}/{issued['id']}").status_code == 204
    assert _client(issued["key"]).get("/api/v1/tenants/acme/learners").status_code == 401
    assert admin.get(f"{KEYS}/{issued['id']}").json()["revokedAt"] is not None
    assert admin.post(f"{KEYS}/{issued['id']}/rotate", {}, format="json").status_code == 409


def test_another_tenants_key_is_not_found(tenant):  # noqa: ANN001
    other = TenantFactory(slug="other")
    make_api_key(other)
    theirs = ApiKey.objects.get(tenant=other)
    admin = _client(make_api_key(tenant))
    assert admin.get(f"{KEYS}/{theirs.pk}").status_code == 404
    assert admin.delete(f"{KEYS}/{theirs.pk}").status_code == 404
    assert admin.post(f"{KEYS}/{theirs.pk}/rotate", {}, format="json").status_code == 404
    assert admin.get(f"{KEYS}/not-an-id").status_code == 404


def test_a_key_issued_by_a_key_acts_for_the_same_person(tenant):  # noqa: ANN001
    admin_raw = make_api_key(tenant)
    issuer = ApiKey.objects.get(prefix=admin_raw[:12])
    issued = _client(admin_raw).post(KEYS, {"name": "child", "role": "viewer", "scopes": []}, format="json").json()
    child = ApiKey.objects.get(pk=issued["id"])
    assert child.created_by_ref == f"api-key:{issuer.pk}"
    grandchild = _client(issued["key"]).post(KEYS, {"name": "grandchild", "role": "viewer", "scopes": []}, format="json")
    assert grandchild.status_code == 403  # the child holds no keys:write scope
