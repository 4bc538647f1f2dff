"""Credentials and onboarding over the API; a not-ready demo learner becomes ready through the API alone."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from learning import demo as learning_demo
from learning.models import Credential, OnboardingCompletion
from signals_inbox import demo as inbox_demo
from tenants.models import Role
from tests.factories import TenantFactory, make_api_key
from tests.learning.evidence_helpers import client_for, make_learner, upload, url

pytestmark = pytest.mark.django_db


def _days(n: int) -> str:
    return (timezone.localdate() + timedelta(days=n)).isoformat()


def test_a_credential_is_recorded_with_issuer_dates_and_its_evidence(api, tenant):
    learner = make_learner(api, tenant)
    evidence = upload(api, tenant, learner_id=learner["id"]).json()

    response = api.post(
        url(tenant, f"learners/{learner['id']}/credentials"),
        {"name": "Working at Heights", "issuer": "SafeWork SETA", "issuedOn": _days(-300), "expiresOn": _days(10), "evidenceId": evidence["id"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["issuer"] == "SafeWork SETA" and body["evidenceId"] == evidence["id"] and body["state"] == "expiring"
    renewed = api.patch(url(tenant, f"credentials/{body['id']}"), {"expiresOn": _days(700)}, format="json").json()
    assert renewed["state"] == "valid" and renewed["issuer"] == "SafeWork SETA"
    listed = api.get(url(tenant, f"learners/{learner['id']}/credentials")).json()["data"]
    assert [c["id"] for c in listed] == [body["id"]]
    assert api.delete(url(tenant, f"credentials/{body['id']}")).status_code == 204
    assert not Credential.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "First Aid", "issuedOn": _days(0), "expiresOn": _days(-1)}, "expiresOn"),
        ({"name": "First Aid", "evidenceId": "00000000-0000-7000-8000-000000000000"}, "evidenceId"),
        ({"name": "First Aid", "expiresOn": "soon"}, "expiresOn"),
    ],
)
def test_bad_credentials_are_refused(api, tenant, body, field):
    learner = make_learner(api, tenant)
    response = api.post(url(tenant, f"learners/{learner['id']}/credentials"), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["field"] == field
    assert not Credential.objects.exists()


def test_a_credential_cannot_point_at_another_learners_evidence(api, tenant):
    learner, other = make_learner(api, tenant), make_learner(api, tenant, 2)
    evidence = upload(api, tenant, learner_id=other["id"]).json()
    response = api.post(url(tenant, f"learners/{learner['id']}/credentials"), {"name": "Forklift", "evidenceId": evidence["id"]}, format="json")
    assert response.status_code == 400 and not Credential.objects.exists()


def test_another_tenants_credential_is_not_found(api, tenant):
    learner = make_learner(api, tenant)
    credential = api.post(url(tenant, f"learners/{learner['id']}/credentials"), {"name": "Forklift"}, format="json").json()
    other = TenantFactory()
    stranger = client_for(make_api_key(other))
    assert stranger.get(url(other, f"credentials/{credential['id']}")).status_code == 404
    assert stranger.patch(url(other, f"credentials/{credential['id']}"), {"name": "x"}, format="json").status_code == 404


def test_onboarding_steps_complete_and_undo_with_who_and_when(api, tenant):
    learner = make_learner(api, tenant)
    step = api.post(url(tenant, "onboarding-steps"), {"name": "Site induction", "position": 1}, format="json").json()
    facilitator = client_for(make_api_key(tenant, role=Role.FACILITATOR, scopes=["learners:read", "learners:write"], name="facilitator"))

    done = facilitator.post(url(tenant, f"learners/{learner['id']}/onboarding/{step['id']}"))
    again = facilitator.post(url(tenant, f"learners/{learner['id']}/onboarding/{step['id']}"))

    assert done.status_code == 200 and again.json()["completedAt"] == done.json()["completedAt"]
    assert done.json()["completedBy"].endswith("(facilitator)")
    items = api.get(url(tenant, f"learners/{learner['id']}/onboarding")).json()["data"]
    assert items[0]["completed"] is True and items[0]["completedBy"].endswith("(facilitator)")

    undone = api.delete(url(tenant, f"learners/{learner['id']}/onboarding/{step['id']}"))

    assert undone.status_code == 200
    assert undone.json()["completed"] is False and undone.json()["undoneAt"] and undone.json()["completedBy"].endswith("(facilitator)")
    assert api.get(url(tenant, f"learners/{learner['id']}/onboarding")).json()["data"][0]["completed"] is False
    assert api.delete(url(tenant, f"learners/{learner['id']}/onboarding/{step['id']}")).status_code == 404
    # Completing again after an undo keeps the history: two rows, one live.
    assert facilitator.post(url(tenant, f"learners/{learner['id']}/onboarding/{step['id']}")).status_code == 200
    assert OnboardingCompletion.objects.filter(learner_id=learner["id"]).count() == 2


def test_a_site_step_does_not_apply_to_a_learner_of_another_site(api, tenant):
    learner = api.post(url(tenant, "learners"), {"firstName": "A", "lastName": "B", "site": "Site A"}, format="json").json()
    step = api.post(url(tenant, "onboarding-steps"), {"name": "Shaft access", "site": "Site B"}, format="json").json()

    response = api.post(url(tenant, f"learners/{learner['id']}/onboarding/{step['id']}"))

    assert response.status_code == 400
    assert api.get(url(tenant, f"learners/{learner['id']}/onboarding")).json()["data"] == []


def _resolve(api, tenant, learner_id: str, reason: dict) -> None:  # noqa: ANN001
    """Clear one blocking readiness reason the way an integrator would, through the API."""
    if reason["kind"] == "credential":
        credentials = api.get(url(tenant, f"learners/{learner_id}/credentials")).json()["data"]
        for credential in (c for c in credentials if c["name"] == reason["name"]):
            assert api.patch(url(tenant, f"credentials/{credential['id']}"), {"issuedOn": _days(0), "expiresOn": _days(365)}, format="json").status_code == 200
    elif reason["kind"] == "onboarding":
        steps = api.get(url(tenant, f"learners/{learner_id}/onboarding?limit=1000")).json()["data"]
        for step in (s for s in steps if s["name"] == reason["name"]):
            assert api.post(url(tenant, f"learners/{learner_id}/onboarding/{step['stepId']}")).status_code == 200
    elif reason["kind"] == "assignment":
        assert api.post(url(tenant, f"assignments/{reason['assignmentId']}/complete")).status_code == 200
    elif reason["kind"] == "signal":
        assert api.post(url(tenant, f"needs/{reason['needId']}/dismiss"), {"reason": "Handled on site"}, format="json").status_code == 200


def test_a_not_ready_demo_learner_becomes_ready_through_the_api_alone(api, tenant):
    learning_demo.seed(tenant=tenant, learners=12, log=lambda _: None)
    inbox_demo.seed(tenant=tenant, learners=12, log=lambda _: None)
    board = api.get(url(tenant, "readiness?limit=100")).json()["data"]
    learner = next(row for row in board if not row["ready"] and any(r["kind"] == "credential" and r["blocking"] for r in row["reasons"]))
    assert {r["kind"] for r in learner["reasons"] if r["blocking"]} >= {"credential", "onboarding"}

    for _ in range(3):  # a cleared cause can reveal none new, but go round until the board agrees
        row = next(r for r in api.get(url(tenant, "readiness?limit=100")).json()["data"] if r["learnerId"] == learner["learnerId"])
        if row["ready"]:
            break
        for reason in (r for r in row["reasons"] if r["blocking"]):
            _resolve(api, tenant, learner["learnerId"], reason)

    row = next(r for r in api.get(url(tenant, "readiness?limit=100")).json()["data"] if r["learnerId"] == learner["learnerId"])
    assert row["ready"] is True, row["reasons"]
    assert all(not r["blocking"] for r in row["reasons"])
