"""The OpenAPI spec and its human docs page."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_openapi_json_describes_the_learner_api():
    response = APIClient().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    learners = spec["paths"]["/api/v1/tenants/{slug}/learners"]
    assert {"get", "post"} <= set(learners)
    parameters = {p["name"] for p in learners["get"]["parameters"]}
    assert {"limit", "offset", "cursor", "updatedSince", "email", "externalWorkerId", "site", "status"} <= parameters
    schema = spec["components"]["schemas"]["LearnerOutput"]["properties"]
    assert {"firstName", "lastName", "saIdNumber", "externalWorkerId"} <= set(schema)
    assert "ApiKey" in spec["components"]["securitySchemes"]


def test_docs_page_is_served():
    response = APIClient().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_openapi_describes_the_signed_signal_webhook():
    spec = APIClient().get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/integration/{slug}/webhook"]["post"]
    assert {p["name"] for p in operation["parameters"]} == {"slug", "X-Skillhub-Signature"}
    assert {"200", "400", "401", "413"} <= set(operation["responses"])
    assert {"/api/v1/tenants/{slug}/webhooks", "/api/v1/tenants/{slug}/needs/{need_id}/offer"} <= set(spec["paths"])
