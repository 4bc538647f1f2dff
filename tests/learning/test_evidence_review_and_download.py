"""Evidence download (owning tenant, evidence:read) and review (closes the review task, records the event)."""
from __future__ import annotations

import pytest

from learning.evidence.models import Evidence, Task
from tenants.models import Role
from tests.factories import TenantFactory, make_api_key
from tests.learning.evidence_helpers import PDF, PNG, client_for, make_learner, upload, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidence(api, tenant) -> dict:  # noqa: ANN001
    learner = make_learner(api, tenant)
    response = upload(api, tenant, learner_id=learner["id"], content=PNG, name="hard hat.png", content_type="image/png")
    assert response.status_code == 201
    return response.json()


def test_download_streams_the_file_with_its_type_and_a_download_name(api, tenant, evidence):
    response = api.get(url(tenant, f"evidence/{evidence['id']}/download"))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="hard hat.png"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_download_answers_any_accept_header(api, tenant, evidence):
    response = api.get(url(tenant, f"evidence/{evidence['id']}/download"), HTTP_ACCEPT="image/png")
    assert response.status_code == 200


def test_another_tenants_key_gets_404_for_the_evidence_and_its_file(api, tenant, evidence):
    other = TenantFactory()
    stranger = client_for(make_api_key(other))

    for path in (f"evidence/{evidence['id']}", f"evidence/{evidence['id']}/download"):
        # On the owner's slug the key is not the tenant's; on its own slug the id is not its own.
        assert stranger.get(url(tenant, path)).status_code == 404
        assert stranger.get(url(other, path)).status_code == 404


def test_a_key_without_evidence_read_cannot_download(api, tenant, evidence):
    key = client_for(make_api_key(tenant, role=Role.ADMIN, scopes=["learners:read", "evidence:write"]))

    response = key.get(url(tenant, f"evidence/{evidence['id']}/download"))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_review_records_the_decision_closes_the_task_and_sends_evidence_reviewed(api, tenant, evidence):
    response = api.patch(url(tenant, f"evidence/{evidence['id']}"), {"status": "rejected", "feedback": "Blurred"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rejected" and body["feedback"] == "Blurred" and body["reviewedBy"].startswith("api-key:")
    task = Task.objects.get(evidence_id=evidence["id"])
    assert task.status == "closed" and task.closed_at is not None
    event = Event.objects.get(tenant=tenant, type="evidence.reviewed")
    assert event.data["status"] == "rejected" and event.data["id"] == evidence["id"]
    tasks = api.get(url(tenant, "tasks?status=open")).json()
    assert tasks["data"] == []


@pytest.mark.parametrize("body", [{"status": "maybe"}, {"status": "approved", "colour": "red"}, {}])
def test_a_bad_review_changes_nothing(api, tenant, evidence, body):
    response = api.patch(url(tenant, f"evidence/{evidence['id']}"), body, format="json")

    assert response.status_code == 400
    assert Evidence.objects.get(pk=evidence["id"]).status == "submitted"
    assert Task.objects.get(evidence_id=evidence["id"]).status == "open"
    assert not Event.objects.filter(type="evidence.reviewed").exists()


def test_evidence_list_filters_and_pages(api, tenant, evidence):
    learner = make_learner(api, tenant, 2)
    upload(api, tenant, learner_id=learner["id"], content=PDF)

    everything = api.get(url(tenant, "evidence?limit=1")).json()
    assert everything["pagination"]["total"] == 2 and everything["nextCursor"]
    mine = api.get(url(tenant, f"evidence?learnerId={learner['id']}")).json()
    assert [e["contentType"] for e in mine["data"]] == ["application/pdf"]
    assert api.get(url(tenant, "evidence?status=lost")).status_code == 400
    assert api.get(url(tenant, "evidence?learnerId=nope")).status_code == 400


def test_the_review_task_is_readable_as_the_subject_of_task_created(api, tenant, evidence):
    task = Task.objects.get(evidence_id=evidence["id"])
    body = api.get(url(tenant, f"tasks/{task.pk}")).json()
    assert body["evidenceId"] == evidence["id"] and body["status"] == "open"
    assert api.get(url(tenant, "tasks/00000000-0000-0000-0000-000000000000")).status_code == 404
