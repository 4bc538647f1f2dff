"""The skills-evidence routes are typed in the OpenAPI document, with their real statuses and error shapes."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

BASE = "/api/v1/tenants/{slug}/"
EXPECTED = {
    ("evidence", "get"): {"200", "400"},
    ("evidence", "post"): {"201", "400", "413"},
    ("evidence/{evidence_id}", "get"): {"200", "404"},
    ("evidence/{evidence_id}", "patch"): {"200", "400", "404"},
    ("evidence/{evidence_id}/download", "get"): {"200", "404"},
    ("assessments", "post"): {"201", "400"},
    ("assessments/{assessment_id}/moderation", "post"): {"201", "400", "404"},
    ("exports", "post"): {"202", "400"},
    ("exports/{export_id}", "get"): {"200", "404"},
    ("exports/{export_id}/download", "get"): {"200", "404", "409", "410"},
}


def test_every_evidence_route_is_typed_with_its_statuses_and_errors():
    spec = APIClient().get("/api/v1/openapi.json").json()
    for (path, method), statuses in EXPECTED.items():
        operation = spec["paths"][BASE + path][method]
        assert statuses | {"401", "403"} <= set(operation["responses"]), (path, method)
        for code in statuses | {"401", "403"}:
            content = operation["responses"][code].get("content", {})
            if code.startswith(("4", "5")):
                assert content["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
    upload = spec["paths"][BASE + "evidence"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    assert "200" not in spec["paths"][BASE + "exports"]["post"]["responses"]
    assert {"EvidenceOutput", "AssessmentOutput", "ExportOutput", "CredentialOutput", "TaskOutput"} <= set(spec["components"]["schemas"])


def test_every_schema_reference_resolves():
    import json
    import re

    spec = APIClient().get("/api/v1/openapi.json").json()
    refs = set(re.findall(r"#/components/schemas/(\w+)", json.dumps(spec)))
    assert refs - set(spec["components"]["schemas"]) == set()
