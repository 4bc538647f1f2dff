"""POST /learners/bulk: upsert by externalWorkerId or email, one result per row, whole rows only, events per learner."""
from __future__ import annotations

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from learning.models import Learner, LearnerCount
from tests.factories import LearnerFactory, TenantFactory, make_api_key
from webhooks.models import Event

pytestmark = pytest.mark.django_db

VALID_SA_ID = "8001015009087"


def _url(api) -> str:
    return f"/api/v1/tenants/{api.tenant.slug}/learners/bulk"


def _post(api, rows, **params):
    query = "?dryRun=true" if params.get("dry_run") else ""
    return api.post(_url(api) + query, json.dumps({"learners": rows}), content_type="application/json")


def _rows(count: int, *, bad_every: int = 0) -> list[dict]:
    rows = []
    for n in range(count):
        row = {"firstName": f"First{n}", "lastName": f"Last{n}", "email": f"p{n}@example.com", "externalWorkerId": f"W-{n}", "site": f"Site {n % 5}"}
        if bad_every and n % bad_every == bad_every - 1:
            row["saIdNumber"] = "8001015009088"  # fails the Luhn check
        rows.append(row)
    return rows


@pytest.mark.slow
@override_settings(WEBHOOKS_VALIDATE_EVENTS=False)
def test_ten_thousand_rows_with_a_hundred_invalid_write_9900_and_name_row_and_field(api):
    rows = _rows(10_000, bad_every=100)
    response = _post(api, rows)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["summary"] == {"rows": 10_000, "created": 9_900, "updated": 0, "unchanged": 0, "failed": 100}
    errors = [r for r in body["results"] if r["status"] == "error"]
    assert [e["row"] for e in errors] == list(range(100, 10_001, 100))
    assert errors[0]["error"]["code"] == "VALIDATION_ERROR"
    assert errors[0]["error"]["details"] == {"field": "saIdNumber", "reason": "Luhn check failed"}
    assert Learner.objects.filter(tenant=api.tenant).count() == 9_900
    assert not Learner.objects.filter(tenant=api.tenant, external_worker_id="W-99").exists()
    assert Event.objects.filter(tenant=api.tenant, type="learner.created").count() == 9_900
    assert LearnerCount.objects.get(tenant=api.tenant).count == 9_900

    # The same file again: nothing changes, no event, the same errors.
    again = _post(api, rows).json()
    assert again["summary"] == {"rows": 10_000, "created": 0, "updated": 0, "unchanged": 9_900, "failed": 100}
    assert Event.objects.filter(tenant=api.tenant).count() == 9_900
    assert Learner.objects.filter(tenant=api.tenant).count() == 9_900


def test_rows_match_by_external_worker_id_then_email_and_update_only_given_fields(api):
    by_worker = LearnerFactory(tenant=api.tenant, external_worker_id="W-1", email="one@example.com", first_name="Old")
    by_email = LearnerFactory(tenant=api.tenant, external_worker_id="", email="two@example.com", last_name="Keep")
    response = _post(
        api,
        [
            {"externalWorkerId": "W-1", "firstName": "New"},
            {"email": "TWO@example.com", "externalWorkerId": "W-2", "site": "Durban"},
            {"firstName": "Neo", "lastName": "Nkosi", "email": "three@example.com"},
        ],
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["updated", "updated", "created"]
    assert results[0]["id"] == str(by_worker.pk) and results[0]["changedFields"] == ["firstName"]
    assert results[1]["id"] == str(by_email.pk) and set(results[1]["changedFields"]) == {"externalWorkerId", "site"}
    by_worker.refresh_from_db()
    by_email.refresh_from_db()
    assert by_worker.first_name == "New" and by_worker.email == "one@example.com"
    assert by_email.external_worker_id == "W-2" and by_email.site.name == "Durban" and by_email.last_name == "Keep"
    updated = Event.objects.get(type="learner.updated", subject_id=str(by_worker.pk))
    assert updated.data["changedFields"] == ["firstName"] and updated.data["previous"] == {"firstName": "Old"}
    assert Event.objects.filter(type="learner.created", subject_id=results[2]["id"]).exists()


def test_each_bad_row_gets_its_own_error_and_writes_nothing(api):
    LearnerFactory(tenant=api.tenant, external_worker_id="W-9", email="taken@example.com")
    response = _post(
        api,
        [
            {"firstName": "A", "lastName": "B", "email": "not-an-email", "externalWorkerId": "W-10"},
            {"firstName": "A", "lastName": "B", "externalWorkerId": "W-11", "email": "taken@example.com"},
            {"firstName": "A", "lastName": "B"},
            {"externalWorkerId": "W-12", "firstName": "OnlyFirst"},
            {"firstName": "A", "lastName": "B", "externalWorkerId": "W-13", "status": "retired", "nickname": "x"},
            "not an object",
            {"firstName": "A", "lastName": "B", "externalWorkerId": "W-14"},
            {"firstName": "C", "lastName": "D", "externalWorkerId": "W-14"},
        ],
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error"] * 6 + ["created", "error"]
    assert results[0]["error"]["details"]["field"] == "email"
    assert results[1]["error"]["code"] == "CONFLICT" and results[1]["error"]["details"]["field"] == "email"
    assert results[2]["error"]["details"]["field"] == "externalWorkerId"
    assert results[3]["error"]["details"] == {"field": "lastName", "reason": "This field is required"}
    assert {e["field"] for e in results[4]["error"]["details"]["errors"]} == {"status", "nickname"}
    assert results[5]["error"]["code"] == "VALIDATION_ERROR"
    assert results[7]["error"]["code"] == "CONFLICT" and "row 7" in results[7]["error"]["message"]
    assert set(Learner.objects.filter(tenant=api.tenant).values_list("external_worker_id", flat=True)) == {"W-9", "W-14"}
    assert Event.objects.filter(type="learner.created").count() == 1


def test_dry_run_reports_creates_updates_and_errors_and_writes_nothing(api):
    LearnerFactory(tenant=api.tenant, external_worker_id="W-1", first_name="Old")
    response = _post(
        api,
        [{"externalWorkerId": "W-1", "firstName": "New"}, {"externalWorkerId": "W-2", "firstName": "A", "lastName": "B"}, {"firstName": "X"}],
        dry_run=True,
    )
    body = response.json()
    assert body["dryRun"] is True
    assert body["summary"] == {"rows": 3, "created": 1, "updated": 1, "unchanged": 0, "failed": 1}
    assert Learner.objects.filter(tenant=api.tenant).count() == 1
    assert Learner.objects.get(tenant=api.tenant).first_name == "Old"
    assert not Event.objects.exists()


def test_a_call_counts_once_against_the_rate_limit(api):
    first = _post(api, _rows(50))
    second = _post(api, _rows(50))
    assert int(first["X-RateLimit-Remaining"]) - int(second["X-RateLimit-Remaining"]) == 1


def test_body_shape_and_row_limit_are_checked(api):
    assert api.post(_url(api), json.dumps([{"firstName": "A"}]), content_type="application/json").status_code == 400
    too_many = api.post(_url(api), json.dumps({"learners": [{}] * 10_001}), content_type="application/json")
    assert too_many.status_code == 400
    assert too_many.json()["error"]["details"]["field"] == "learners"
    assert not Learner.objects.exists()


def test_bulk_needs_learners_write_and_stays_in_its_tenant(api):
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(api.tenant, scopes=['learners:read'])}")
    denied = reader.post(_url(api), json.dumps({"learners": []}), content_type="application/json")
    assert denied.status_code == 403
    other = TenantFactory()
    LearnerFactory(tenant=other, external_worker_id="W-1", first_name="Theirs")
    _post(api, [{"externalWorkerId": "W-1", "firstName": "Mine", "lastName": "L"}])
    assert Learner.objects.get(tenant=other).first_name == "Theirs"
    assert Learner.objects.get(tenant=api.tenant).first_name == "Mine"


def test_openapi_documents_the_bulk_route(api):
    schema = api.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/tenants/{slug}/learners/bulk"]["post"]
    assert operation["operationId"] == "learners_bulk_upsert"
    assert list(operation["requestBody"]["content"]) == ["application/json"]


def test_a_row_the_database_refuses_is_that_rows_error_and_the_others_are_written(api, monkeypatch):
    from django.db import IntegrityError

    import learning.bulk

    def refused(*args, **kwargs):  # as when a concurrent request took an email after the rows were checked
        raise IntegrityError("UNIQUE constraint failed: learning_learner.email")

    monkeypatch.setattr(learning.bulk, "_insert", refused)
    LearnerFactory(tenant=api.tenant, external_worker_id="W-1", first_name="Old")
    response = _post(api, [{"externalWorkerId": "W-1", "firstName": "New"}, {"externalWorkerId": "W-2", "firstName": "A", "lastName": "B"}])
    assert [r["status"] for r in response.json()["results"]] == ["updated", "created"]
    assert Learner.objects.get(external_worker_id="W-1").first_name == "New"
    assert Event.objects.filter(type="learner.created").count() == 1
    assert Event.objects.filter(type="learner.updated").count() == 1


def test_a_bulk_created_learner_takes_the_needs_parked_for_them(api, client, django_capture_on_commit_callbacks):
    from signals_inbox.models import Target
    from tests.signals_inbox.factories import issue_secret, send_and_resolve

    need = send_and_resolve(client, api.tenant, issue_secret(api.tenant), external_worker_id="W-404", topic="WAH")
    assert need.target == Target.UNMATCHED
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(api, [{"externalWorkerId": "W-404", "firstName": "Late", "lastName": "Arrival"}]).json()["results"][0]
    need.refresh_from_db()
    assert need.target == Target.WORKER and str(need.learner_id) == created["id"]
