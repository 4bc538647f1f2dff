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
    assert {p["name"] for p in operation["parameters"]} == {
        "slug", "X-Skillhub-Signature", "webhook-id", "webhook-timestamp", "webhook-signature",
    }
    assert {"200", "400", "401", "413"} <= set(operation["responses"])
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert "closed_need_unchanged" in answer["reason"]["enum"]
    assert {
        "/api/v1/tenants/{slug}/webhooks", "/api/v1/tenants/{slug}/needs/{need_id}/offer", "/api/v1/admin/tenants/{slug}/signal-signing",
    } <= set(spec["paths"])


def _operations(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_no_read_documents_a_created_answer(client):
    creating_gets = [f"{method} {path}" for path, method, op in _operations(client) if method == "get" and "201" in op["responses"]]
    assert creating_gets == []


def test_every_api_operation_documents_its_errors_in_the_shared_shape(client):
    error = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in _operations(client):
        if path.startswith("/api/v1/integration/"):
            continue  # the signal webhook answers in its own documented shape
        for code in ("400", "404"):
            assert operation["responses"][code]["content"]["application/json"]["schema"] == error, (method, path, code)
        if path.startswith("/api/v1/tenants/"):
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)


def test_every_success_answer_has_a_declared_shape(client):
    for path, method, operation in _operations(client):
        for code, response in operation["responses"].items():
            if code.startswith("2") and code != "204":
                content = response["content"]
                if "application/json" not in content:
                    # A file download (evidence, export): its own media type, declared as binary.
                    assert path.endswith("/download"), (method, path, code)
                    assert all(item["schema"].get("format") == "binary" for item in content.values()), (method, path)
                    continue
                schema = content["application/json"]["schema"]
                assert schema.get("$ref") or schema.get("properties"), (method, path, code)
