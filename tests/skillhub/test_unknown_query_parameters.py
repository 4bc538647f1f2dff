"""A query parameter a route does not declare is a 400 naming it, never silently ignored."""
from __future__ import annotations

import re

import pytest

from skillhub.urls import tenant_api
from tests.skillhub.test_role_matrix import _walk

pytestmark = pytest.mark.django_db


def _path(route: str) -> str:
    route = re.sub(r"<int:[^>]+>", "999999", route)
    return re.sub(r"<str:[^>]+>", "00000000-0000-7000-8000-000000000000", route)


READ_ROUTES = sorted({route for route, view in _walk(tenant_api) if view is not None and hasattr(view, "get")})


def test_an_unknown_filter_on_needs_is_refused_by_name(api):  # noqa: ANN001
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/needs", {"target": "unmatched", "status": "open"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == "target"
    assert "target" in error["message"] and "status" not in error["message"]


def test_every_unknown_parameter_is_listed(api):  # noqa: ANN001
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/learners", {"sitee": "A", "limit": 5, "emial": "x"})
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["error"]["details"]["errors"]] == ["sitee", "emial"]


def test_declared_filters_and_paging_still_work(api):  # noqa: ANN001
    slug = api.tenant.slug
    assert api.get(f"/api/v1/tenants/{slug}/learners", {"site": "A", "limit": 5, "updatedSince": "2020-01-01T00:00:00Z"}).status_code == 200
    assert api.get(f"/api/v1/tenants/{slug}/needs", {"status": "open", "topic": "x", "limit": 1}).status_code == 200


@pytest.mark.parametrize("route", READ_ROUTES)
def test_every_read_route_refuses_a_parameter_it_does_not_declare(api, route):  # noqa: ANN001
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/{_path(route)}", {"bogusFilter": "1"})
    assert response.status_code == 400, (route, response.status_code)
    assert response.json()["error"]["details"]["field"] == "bogusFilter"


def test_the_openapi_document_declares_what_the_routes_accept(client):  # noqa: ANN001
    document = client.get("/api/v1/openapi.json").json()
    needs = document["paths"]["/api/v1/tenants/{slug}/needs"]["get"]
    names = {p["name"] for p in needs["parameters"] if p["in"] == "query"}
    assert {"status", "topic", "site", "severity", "limit", "offset", "cursor"} <= names and "target" not in names


def test_the_public_catalog_and_the_admin_api_refuse_unknown_parameters_too(client, api, admin_client):  # noqa: ANN001
    response = client.get("/api/v1/event-types", {"limt": "5"})
    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "limt"
    assert client.get("/api/v1/event-types", {"limit": "5"}).status_code == 200
    response = admin_client.get(f"/api/v1/admin/tenants/{api.tenant.slug}/signal-map", {"verbose": "1"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert admin_client.get(f"/api/v1/admin/tenants/{api.tenant.slug}/signal-map").status_code == 200


def test_every_list_route_documents_the_400(client):  # noqa: ANN001
    document = client.get("/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        if "get" in operations and any(p["in"] == "query" for p in operations["get"].get("parameters", [])):
            assert "400" in operations["get"]["responses"], path
