"""The back office acts on evidence, assessments, exports, credentials and onboarding through the services."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from learning.evidence.models import Assessment, Evidence, Export, Task
from learning.evidence.services import export_run
from learning.models import Credential, OnboardingCompletion
from tenants.models import Role
from tests.factories import make_api_key
from tests.learning.evidence_helpers import client_for, make_learner, upload, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):  # noqa: ANN001, ANN201
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.login(username="root", password="pw-root-123")
    return client


def _act(staff, model: str, action: str, ids: list) -> object:  # noqa: ANN001
    return staff.post(reverse(f"admin:learning_{model}_changelist"), {"action": action, "_selected_action": [str(i) for i in ids]})


def test_approving_evidence_in_the_admin_closes_its_task_and_records_the_event(staff, api, tenant):
    learner = make_learner(api, tenant)
    evidence = upload(api, tenant, learner_id=learner["id"]).json()

    response = _act(staff, "evidence", "approve", [evidence["id"]])

    assert response.status_code == 302
    assert Evidence.objects.get(pk=evidence["id"]).reviewed_by == "user:root"
    assert Task.objects.get(evidence_id=evidence["id"]).status == "closed"
    assert Event.objects.filter(type="evidence.reviewed").count() == 1


def test_overturning_in_the_admin_is_a_moderation(staff, tenant, api):
    learner = make_learner(api, tenant)
    assessor = client_for(make_api_key(tenant, role=Role.ASSESSOR, scopes=["assessments:write"]))
    assessment = assessor.post(url(tenant, "assessments"), {"learnerId": learner["id"], "outcome": "competent", "unitStandard": "US 1"}, format="json").json()

    _act(staff, "assessment", "overturn", [assessment["id"]])

    assert Assessment.objects.get(pk=assessment["id"]).moderation_decision == "overturned"
    assert Event.objects.filter(type="moderation.completed").count() == 1


def test_expiring_an_export_in_the_admin_deletes_its_file(staff, api, tenant):
    export = api.post(url(tenant, "exports"), {"kind": "learners"}, format="json").json()
    export_run(export_id=export["id"])

    _act(staff, "export", "expire_now", [export["id"]])

    assert Export.objects.get(pk=export["id"]).status == "expired"
    assert api.get(url(tenant, f"exports/{export['id']}/download")).status_code == 410


def test_a_credential_added_in_the_admin_goes_through_the_service(staff, api, tenant):
    learner = make_learner(api, tenant)
    response = staff.post(
        reverse("admin:learning_credential_add"),
        {"tenant": str(tenant.pk), "learner": learner["id"], "name": "First Aid", "topic": "", "issuer": "Red Cross",
         "issued_on": "2026-01-01", "valid_until": "2025-01-01", "evidence": ""},
    )
    assert response.status_code == 200  # refused by the service: expiry before issue
    assert not Credential.objects.exists()


def test_undoing_an_onboarding_completion_in_the_admin_keeps_who_and_when(staff, api, tenant):
    learner = make_learner(api, tenant)
    step = api.post(url(tenant, "onboarding-steps"), {"name": "PPE issued"}, format="json").json()
    api.post(url(tenant, f"learners/{learner['id']}/onboarding/{step['id']}"))
    completion = OnboardingCompletion.objects.get()

    _act(staff, "onboardingcompletion", "undo", [completion.pk])

    completion.refresh_from_db()
    assert completion.undone_by == "user:root" and completion.undone_at is not None
