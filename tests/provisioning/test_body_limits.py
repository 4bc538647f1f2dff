"""Body limits of the bulk import and of SCIM: in the table every layer reads, and answered in each path's shape."""
from __future__ import annotations

import json

import pytest

from skillhub import limits

pytestmark = pytest.mark.django_db


def test_the_bulk_import_and_scim_have_their_rows_in_the_table_of_limits(settings):
    bulk = limits.limit_for("/api/v1/tenants/acme/learners/bulk")
    scim = limits.limit_for("/scim/v2/tenants/acme/Users")

    assert bulk.max_bytes == settings.LEARNER_BULK_MAX_BODY_BYTES > settings.API_MAX_BODY_BYTES
    assert limits.limit_for("/api/v1/tenants/acme/learners").max_bytes == settings.API_MAX_BODY_BYTES
    content_type, body = scim.too_large()
    assert content_type == "application/scim+json"
    assert json.loads(body)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and json.loads(body)["status"] == "413"


def test_an_oversized_scim_body_is_a_scim_413(scim_client, settings):
    response = scim_client.post("Users", {"userName": "x" * (settings.API_MAX_BODY_BYTES + 10)})

    assert response.status_code == 413
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
