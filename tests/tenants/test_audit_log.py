"""The audit log: every write through the API, the console and operator commands says who, what and when."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from tenants.audit import acting_as, audit_record, current_actor, scim_actor
from tenants.models import ApiKey, AuditEvent, Group, Tenant
from tests.console.factories import PASSWORD, console_user
from tests.factories import TenantFactory, make_api_key

pytestmark = pytest.mark.django_db


def _client(tenant: Tenant, **key_args) -> APIClient:  # noqa: ANN003
    client = APIClient()
    raw = make_api_key(tenant, **key_args)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.prefix = raw[:12]
    return client


def test_an_api_write_records_the_key_prefix_the_object_and_the_changed_field_names():
    tenant = TenantFactory(slug="acme")
    api = _client(tenant)
    created = api.post(
        "/api/v1/tenants/acme/learners",
        {"firstName": "Thabo", "lastName": "Mokoena", "email": "thabo@acme.example", "saIdNumber": "8001015009087"},
        format="json",
    ).json()
    api.patch(f"/api/v1/tenants/acme/learners/{created['id']}", {"lastName": "Dlamini"}, format="json")
    api.delete(f"/api/v1/tenants/acme/learners/{created['id']}")

    events = list(AuditEvent.objects.filter(object_type="learner", object_id=created["id"]).order_by("id"))
    assert [e.action for e in events] == ["created", "updated", "deleted"]
    assert {e.actor for e in events} == {f"api-key:{api.prefix}"} and {e.actor_kind for e in events} == {"api-key"}
    assert {"first_name", "last_name", "email", "sa_id_number"} <= set(events[0].changed_fields)
    assert events[1].changed_fields == ["last_name"]
    # Names only: no value of the learner is kept in the log.
    assert "8001015009087" not in str([(e.changed_fields, e.details) for e in events])


def test_the_audit_api_pages_and_filters_by_object_actor_and_date():
    tenant = TenantFactory(slug="acme")
    writer, other = _client(tenant, name="writer"), _client(tenant, name="other")
    first = writer.post("/api/v1/tenants/acme/learners", {"firstName": "A", "lastName": "One"}, format="json").json()
    other.post("/api/v1/tenants/acme/learners", {"firstName": "B", "lastName": "Two"}, format="json")

    body = writer.get("/api/v1/tenants/acme/audit-events", {"objectType": "learner", "objectId": first["id"]}).json()
    assert [(e["action"], e["actor"]) for e in body["data"]] == [("created", f"api-key:{writer.prefix}")]
    assert "firstName" in body["data"][0]["changedFields"] and body["pagination"]["total"] == 1

    by_actor = writer.get("/api/v1/tenants/acme/audit-events", {"actor": f"api-key:{other.prefix}", "objectType": "learner"}).json()
    assert by_actor["pagination"]["total"] == 1
    future = writer.get("/api/v1/tenants/acme/audit-events", {"since": "2999-01-01T00:00:00Z"}).json()
    assert future["data"] == []
    page = writer.get("/api/v1/tenants/acme/audit-events", {"limit": 1}).json()
    assert page["pagination"]["hasMore"] and page["nextCursor"]
    rest = writer.get("/api/v1/tenants/acme/audit-events", {"limit": 1000, "cursor": page["nextCursor"]}).json()
    assert page["data"][0]["id"] not in {e["id"] for e in rest["data"]}


def test_a_bad_date_filter_is_a_validation_error_and_another_tenant_sees_nothing():
    acme, other = TenantFactory(slug="acme"), TenantFactory(slug="other")
    _client(acme).post("/api/v1/tenants/acme/learners", {"firstName": "A", "lastName": "One"}, format="json")
    theirs = _client(other)
    assert all(e["objectType"] != "learner" for e in theirs.get("/api/v1/tenants/other/audit-events").json()["data"])
    assert theirs.get("/api/v1/tenants/acme/audit-events").status_code == 404
    bad = theirs.get("/api/v1/tenants/other/audit-events", {"since": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "since"


def test_reading_the_audit_log_needs_the_audit_scope():
    tenant = TenantFactory(slug="acme")
    narrow = _client(tenant, scopes=["learners:read"])
    assert narrow.get("/api/v1/tenants/acme/audit-events").status_code == 403


def test_a_console_write_records_the_console_user(client):  # noqa: ANN001
    tenant = TenantFactory(slug="acme")
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    response = client.post(reverse("admin:tenants_group_add"), {"tenant": str(tenant.pk), "name": "Night shift"})
    assert response.status_code == 302
    group = Group.objects.get(tenant=tenant)
    event = AuditEvent.objects.get(object_type="group", object_id=str(group.pk))
    assert (event.actor, event.actor_kind, event.action) == ("user:ops", "user", "created")
    page = client.get(reverse("admin:tenants_auditevent_changelist")).content.decode()
    assert "user:ops" in page and "group" in page


def test_an_operator_command_records_its_name():
    tenant = TenantFactory(slug="acme")
    call_command("create_api_key", "acme", "--name", "HR", "--role", "viewer", "--scopes", "learners:read", stdout=StringIO())
    key = ApiKey.objects.get(tenant=tenant, name="HR")
    event = AuditEvent.objects.get(object_type="apikey", object_id=str(key.pk))
    assert (event.actor, event.action) == ("command:create_api_key", "created")
    # The hash is named as a changed field; its value is nowhere in the log.
    assert "key_hash" in event.changed_fields and key.key_hash not in str(event.details)


def test_group_membership_changes_are_recorded_on_the_changed_object():
    tenant = TenantFactory(slug="acme")
    api = _client(tenant)
    group = Group.objects.create(tenant=tenant, name="Crew")
    learner = api.post("/api/v1/tenants/acme/learners", {"firstName": "A", "lastName": "B", "groups": [str(group.pk)]}, format="json").json()
    events = AuditEvent.objects.filter(object_id=learner["id"])
    assert any("groups" in e.changed_fields and e.details.get("added") == [str(group.pk)] for e in events)


def test_work_without_an_actor_records_nothing_and_the_actor_is_reset_after_a_request():
    tenant = TenantFactory(slug="acme")
    Group.objects.create(tenant=tenant, name="Made by a sweep")
    assert not AuditEvent.objects.filter(object_type="group").exists()
    _client(tenant).get("/api/v1/tenants/acme/learners")
    assert current_actor() is None


def test_scim_and_explicit_records_name_their_actor():
    tenant = TenantFactory(slug="acme")
    key = ApiKey.objects.get(pk=ApiKey.objects.create(tenant=tenant, name="idp", prefix="shk_scimtok1", key_hash="x" * 64).pk)
    with acting_as(scim_actor(key)):
        Group.objects.create(tenant=tenant, name="From the IdP")
        audit_record(tenant=tenant, object_type="need", object_id="n1", action="offered", details={"learners": 3})
    rows = AuditEvent.objects.filter(actor="scim:shk_scimtok1").order_by("id")
    assert [(e.object_type, e.action) for e in rows] == [("group", "created"), ("need", "offered")]


def test_deleting_a_tenant_takes_its_audit_log_with_it():
    tenant = TenantFactory(slug="gone")
    with acting_as(scim_actor(type("K", (), {"prefix": "shk_x"})())):
        Group.objects.create(tenant=tenant, name="A")
        tenant.delete()
    assert not AuditEvent.objects.filter(tenant_id=tenant.pk).exists()
