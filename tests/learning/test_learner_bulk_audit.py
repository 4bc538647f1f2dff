"""A bulk import is audited like single writes: one entry per created or updated learner, none for unchanged rows."""
from __future__ import annotations

import json

import pytest

from learning.models import Learner
from tenants.models import AuditEvent, IdempotencyRecord
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _post(api, rows, **headers):
    url = f"/api/v1/tenants/{api.tenant.slug}/learners/bulk"
    return api.post(url, json.dumps({"learners": rows}), content_type="application/json", **headers)


def _learner_entries(tenant):
    return AuditEvent.objects.filter(tenant=tenant, object_type="learner").order_by("id")


def test_created_and_updated_rows_are_audited_with_their_fields_as_the_key(api):
    rows = [
        {"firstName": "Ann", "lastName": "One", "email": "ann@example.com", "externalWorkerId": "W-1"},
        {"firstName": "Ben", "lastName": "Two", "email": "ben@example.com", "site": "North"},
    ]
    created = _post(api, rows).json()["results"]
    entries = list(_learner_entries(api.tenant))
    assert [(e.object_id, e.action) for e in entries] == [(r["id"], "created") for r in created]
    assert entries[0].changed_fields == ["email", "external_worker_id", "first_name", "last_name", "status"]
    assert "site" in entries[1].changed_fields
    assert {e.actor_kind for e in entries} == {"api-key"} and all(e.actor.startswith("api-key:shk_") for e in entries)

    again = _post(api, [rows[0], {**rows[1], "role": "Operator"}]).json()
    assert [r["status"] for r in again["results"]] == ["unchanged", "updated"]
    entries = list(_learner_entries(api.tenant))
    assert len(entries) == 3
    assert (entries[-1].object_id, entries[-1].action, entries[-1].changed_fields) == (created[1]["id"], "updated", ["role"])


def test_a_dry_run_audits_nothing(api):
    _post(api, [{"firstName": "Ann", "lastName": "One", "email": "ann@example.com"}])
    url = f"/api/v1/tenants/{api.tenant.slug}/learners/bulk?dryRun=true"
    api.post(url, json.dumps({"learners": [{"firstName": "Cy", "lastName": "Three", "email": "cy@example.com"}]}), content_type="application/json")
    assert _learner_entries(api.tenant).count() == 1


def test_a_repeat_with_the_same_idempotency_key_answers_the_first_call_and_writes_nothing(api):
    rows = [{"firstName": f"P{n}", "lastName": "Bulk", "email": f"p{n}@example.com"} for n in range(30)]
    first = _post(api, rows, HTTP_IDEMPOTENCY_KEY="import-1")
    assert first.status_code == 200 and first.json()["summary"]["created"] == 30
    second = _post(api, rows, HTTP_IDEMPOTENCY_KEY="import-1")
    assert second.status_code == 200 and second["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    assert Learner.objects.filter(tenant=api.tenant).count() == 30
    assert Event.objects.filter(tenant=api.tenant, type="learner.created").count() == 30
    assert _learner_entries(api.tenant).count() == 30
    assert IdempotencyRecord.objects.filter(tenant=api.tenant).count() == 1
    other = _post(api, rows[:1], HTTP_IDEMPOTENCY_KEY="import-1")
    assert other.status_code in (409, 422)
