"""A database that does not answer is a 503 with Retry-After in each surface's own shape, never a 500."""
from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from tests.factories import make_api_key

pytestmark = pytest.mark.django_db


def _database_down():
    # What psycopg or sqlite3 raise when the server is gone: every new statement fails to get a cursor.
    return mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=OperationalError("connection refused"))


def test_api_answers_503_with_retry_after_while_the_database_is_down(tenant):
    key = make_api_key(tenant)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")
    with _database_down():
        response = client.get(f"/api/v1/tenants/{tenant.slug}/learners")
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert client.get(f"/api/v1/tenants/{tenant.slug}/learners").status_code == 200


def test_scim_answers_a_scim_503_while_the_database_is_down(tenant):
    key = make_api_key(tenant, scopes=["scim"])
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")
    with _database_down():
        response = client.get(f"/scim/v2/tenants/{tenant.slug}/Users")
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == "503"


def test_console_shows_a_retry_page_not_a_server_error(settings):
    settings.DEBUG = False
    admin = User.objects.create_superuser("ops", "", "pw-ops-123456")
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    with _database_down():
        response = client.get("/admin/")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert b"database is not answering" in response.content
