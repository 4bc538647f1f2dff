"""Every SPEC error code, in the SPEC shape, for the cases a client will hit."""
from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import ApiKey, Role
from tenants.services import api_key_revoke
from tests.factories import LearnerFactory, TenantFactory, make_api_key

pytestmark = pytest.mark.django_db


def _client(key: str | None = None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    return body["error"]


def test_missing_key_is_unauthorized(tenant):
    response = _client().get(f"/api/v1/tenants/{tenant.slug}/learners")
    assert response.status_code == 401
    assert _error(response)["code"] == "UNAUTHORIZED"


def test_unknown_key_is_unauthorized(tenant):
    response = _client("shk_not-a-real-key").get(f"/api/v1/tenants/{tenant.slug}/learners")
    assert response.status_code == 401
    assert _error(response)["code"] == "UNAUTHORIZED"


def test_non_bearer_scheme_is_unauthorized(tenant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWRtaW46YWRtaW4=")
    response = client.get(f"/api/v1/tenants/{tenant.slug}/learners")
    assert response.status_code == 401


def test_revoked_key_is_unauthorized_at_once(tenant):
    key = make_api_key(tenant)
    client = _client(key)
    assert client.get(f"/api/v1/tenants/{tenant.slug}/learners").status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get(tenant=tenant))
    response = client.get(f"/api/v1/tenants/{tenant.slug}/learners")
    assert response.status_code == 401


def test_expired_key_is_unauthorized(tenant):
    key = make_api_key(tenant, expires_at=timezone.now() + datetime.timedelta(days=1))
    ApiKey.objects.filter(tenant=tenant).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = _client(key).get(f"/api/v1/tenants/{tenant.slug}/learners")
    assert response.status_code == 401


def test_key_with_future_expiry_works(tenant):
    key = make_api_key(tenant, expires_at=timezone.now() + datetime.timedelta(days=1))
    assert _client(key).get(f"/api/v1/tenants/{tenant.slug}/learners").status_code == 200


def test_missing_scope_is_forbidden(tenant):
    key = make_api_key(tenant, scopes=["evidence:read"])
    response = _client(key).get(f"/api/v1/tenants/{tenant.slug}/learners")
    assert response.status_code == 403
    error = _error(response)
    assert error["code"] == "FORBIDDEN"
    assert "learners:read" in error["message"]


def test_read_scope_does_not_allow_writes(tenant):
    key = make_api_key(tenant, scopes=["learners:read"])
    response = _client(key).post(f"/api/v1/tenants/{tenant.slug}/learners", {"firstName": "A", "lastName": "B"}, format="json")
    assert response.status_code == 403


def test_viewer_role_cannot_write_even_with_write_scope(tenant):
    key = make_api_key(tenant, role=Role.VIEWER, scopes=["learners:read", "learners:write"])
    response = _client(key).post(f"/api/v1/tenants/{tenant.slug}/learners", {"firstName": "A", "lastName": "B"}, format="json")
    assert response.status_code == 403
    assert _error(response)["code"] == "FORBIDDEN"


def test_unknown_tenant_is_not_found(tenant):
    response = _client(make_api_key(tenant)).get("/api/v1/tenants/no-such-tenant/learners")
    assert response.status_code == 404
    assert _error(response)["code"] == "NOT_FOUND"


def test_key_of_another_tenant_gets_not_found(tenant):
    other = TenantFactory()
    response = _client(make_api_key(tenant)).get(f"/api/v1/tenants/{other.slug}/learners")
    assert response.status_code == 404
    assert _error(response)["code"] == "NOT_FOUND"


def test_other_tenants_learner_is_not_found(api):
    foreign = LearnerFactory(tenant=TenantFactory())
    url = f"/api/v1/tenants/{api.tenant.slug}/learners/{foreign.pk}"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"lastName": "X"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.last_name != "X"


def test_unknown_route_is_not_found_in_spec_shape():
    response = _client().get("/api/v1/nowhere")
    assert response.status_code == 404
    assert _error(response)["code"] == "NOT_FOUND"


def test_wrong_method_is_405_in_spec_shape(api):
    response = api.put(f"/api/v1/tenants/{api.tenant.slug}/learners", {}, format="json")
    assert response.status_code == 405
    assert _error(response)["code"] == "METHOD_NOT_ALLOWED"


def test_malformed_json_is_validation_error(api):
    response = api.post(f"/api/v1/tenants/{api.tenant.slug}/learners", data='{"firstName": ', content_type="application/json")
    assert response.status_code == 400
    assert _error(response)["code"] == "VALIDATION_ERROR"


def test_json_array_body_is_validation_error(api):
    response = api.post(f"/api/v1/tenants/{api.tenant.slug}/learners", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_oversized_body_is_payload_too_large(api, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/learners", data='{"firstName": "' + "a" * 2000 + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert _error(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_unhandled_error_is_server_error_without_trace(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("learning.api.learner_queryset", explode)
    api.raise_request_exception = False
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/learners")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "SERVER_ERROR", "message": "Internal error"}}
    assert b"hunter2" not in response.content
    assert b"Traceback" not in response.content
