"""A SCIM create is a few statements in one transaction; a taken userName leaves nothing behind."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from learning.models import Learner
from tenants.models import AuditEvent
from tests.provisioning.conftest import barbara
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def test_a_create_needs_no_lookup_of_its_username_and_one_of_its_email_and_worker_id(scim_client):
    scim_client.post("Users", barbara())  # the key, the tenant and the count row are warm
    body = barbara()
    body.update(userName="second@example.com", externalId="701985", emails=[{"value": "second@example.com", "primary": True}])
    with CaptureQueriesContext(connection) as queries:
        response = scim_client.post("Users", body)
    assert response.status_code == 201, response.content
    statements = [q["sql"] for q in queries.captured_queries]
    assert not any("provisioning_scimuser" in sql and sql.lstrip().startswith("SELECT") for sql in statements)
    assert sum(1 for sql in statements if sql.lstrip().startswith("SELECT") and "learning_learner" in sql.split(" WHERE ")[0]) == 1
    assert sum(1 for sql in statements if "tenants_auditevent" in sql) == 1  # the learner's and the identity's rows together
    # The test's own transaction makes the create's a savepoint; learner_create opens none inside it.
    assert sum(1 for sql in statements if sql.startswith("SAVEPOINT")) == 1


def test_a_taken_username_is_409_and_the_learner_it_would_have_made_is_not_kept(scim_client):
    first = scim_client.post("Users", barbara())
    assert first.status_code == 201
    clash = barbara()
    clash.update(userName=clash["userName"].upper(), externalId="other-id", emails=[{"value": "other@example.com", "primary": True}])
    response = scim_client.post("Users", clash)
    assert response.status_code == 409 and response.json()["scimType"] == "uniqueness"
    assert "userName" in response.json()["detail"]
    tenant = scim_client.tenant
    assert Learner.objects.filter(tenant=tenant).count() == 1
    assert not Learner.objects.filter(tenant=tenant, email="other@example.com").exists()
    assert Event.objects.filter(tenant=tenant, type="learner.created").count() == 1
    assert AuditEvent.objects.filter(tenant=tenant, object_type="learner", action="created").count() == 1
