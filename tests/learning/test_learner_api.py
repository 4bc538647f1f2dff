"""Learner CRUD through the API: camelCase fields, validation, conflicts, events."""
from __future__ import annotations

import pytest

from learning.models import Learner
from webhooks.models import Event

pytestmark = pytest.mark.django_db

VALID_SA_ID = "8001015009087"


def test_create_learner_returns_camel_case_and_records_event(api):
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/learners",
        {"firstName": "Thabo", "lastName": "Mokoena", "email": "Thabo@Example.com", "saIdNumber": VALID_SA_ID, "site": "Site A"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["firstName"] == "Thabo"
    assert body["email"] == "thabo@example.com"
    assert body["site"] == "Site A"
    assert body["tenantId"] == str(api.tenant.id)
    event = Event.objects.get(type="learner.created")
    assert event.data["id"] == body["id"]
    assert event.tenant_id == api.tenant.id


def test_update_records_changed_fields(api):
    created = api.post(f"/api/v1/tenants/{api.tenant.slug}/learners", {"firstName": "A", "lastName": "B"}, format="json").json()
    response = api.patch(f"/api/v1/tenants/{api.tenant.slug}/learners/{created['id']}", {"lastName": "C"}, format="json")
    assert response.status_code == 200
    assert response.json()["lastName"] == "C"
    event = Event.objects.get(type="learner.updated")
    assert event.data["changedFields"] == ["lastName"]
    assert event.data["previous"] == {"lastName": "B"}


def test_delete_removes_learner_and_records_event(api):
    created = api.post(f"/api/v1/tenants/{api.tenant.slug}/learners", {"firstName": "A", "lastName": "B"}, format="json").json()
    response = api.delete(f"/api/v1/tenants/{api.tenant.slug}/learners/{created['id']}")
    assert response.status_code == 204
    assert not Learner.objects.filter(pk=created["id"]).exists()
    assert Event.objects.filter(type="learner.deleted", subject_id=created["id"]).exists()


def test_duplicate_email_in_tenant_is_conflict(api):
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"
    api.post(url, {"firstName": "A", "lastName": "B", "email": "a@example.com"}, format="json")
    response = api.post(url, {"firstName": "C", "lastName": "D", "email": "A@example.com"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert response.json()["error"]["details"]["field"] == "email"
    assert Learner.objects.count() == 1


def test_duplicate_external_worker_id_is_conflict(api):
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"
    api.post(url, {"firstName": "A", "lastName": "B", "externalWorkerId": "W-1"}, format="json")
    response = api.post(url, {"firstName": "C", "lastName": "D", "externalWorkerId": "W-1"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["field"] == "externalWorkerId"


def test_invalid_fields_are_all_listed_and_nothing_is_stored(api):
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/learners",
        {"saIdNumber": "8001015009088", "email": "not-an-email", "lastName": "X"},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    fields = [item["field"] for item in error["details"]["errors"]]
    assert set(fields) == {"firstName", "email", "saIdNumber"}
    assert error["details"]["field"] == fields[0]
    assert Learner.objects.count() == 0
    assert Event.objects.count() == 0


def test_luhn_failure_reason_is_reported(api):
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/learners",
        {"firstName": "A", "lastName": "B", "saIdNumber": "8001015009088"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "field": "saIdNumber",
        "reason": "Luhn check failed",
        "errors": [{"field": "saIdNumber", "reason": "Luhn check failed"}],
    }


def test_malformed_learner_id_is_not_found(api):
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/learners/not-a-uuid")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_unknown_fields_are_rejected(api):
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/learners", {"firstName": "A", "lastName": "B", "nickname": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "nickname"


def test_groups_are_set_and_listed(api):
    from tenants.services import group_create

    night = group_create(tenant=api.tenant, name="Night shift")
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"
    created = api.post(url, {"firstName": "A", "lastName": "B", "groups": [str(night.pk)]}, format="json").json()
    assert created["groups"] == [str(night.pk)]
    assert api.get(url).json()["data"][0]["groups"] == [str(night.pk)]
    cleared = api.patch(f"{url}/{created['id']}", {"groups": []}, format="json").json()
    assert cleared["groups"] == []


def test_unknown_or_foreign_group_is_validation_error(api):
    from tenants.services import group_create
    from tests.factories import TenantFactory

    foreign = group_create(tenant=TenantFactory(), name="Elsewhere")
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/learners", {"firstName": "A", "lastName": "B", "groups": [str(foreign.pk)]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "groups"
    assert not Learner.objects.exists()


def test_list_rows_match_the_detail_representation(api):
    from tenants.services import group_create

    group = group_create(tenant=api.tenant, name="Day shift")
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"
    created = api.post(
        url,
        {"firstName": "Lindiwe", "lastName": "Sisulu", "email": "l@example.com", "site": "Site A", "groups": [str(group.pk)]},
        format="json",
    ).json()
    listed = api.get(url).json()["data"][0]
    detail = api.get(f"{url}/{created['id']}").json()
    assert listed == detail == created
    assert detail["createdAt"].endswith("Z") and "T" in detail["createdAt"]
