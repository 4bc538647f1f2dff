"""Assessments (assessor records, evidence of the same tenant only) and moderation (never by the assessor)."""
from __future__ import annotations

import pytest

from learning.evidence.models import Assessment, Moderation
from tenants.models import Role
from tests.factories import TenantFactory, make_api_key
from tests.learning.evidence_helpers import client_for, make_learner, upload, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db

ASSESS = ["assessments:read", "assessments:write", "evidence:read"]


@pytest.fixture
def assessor(tenant):  # noqa: ANN001, ANN201
    return client_for(make_api_key(tenant, role=Role.ASSESSOR, scopes=ASSESS, name="assessor"))


@pytest.fixture
def moderator(tenant):  # noqa: ANN001, ANN201
    return client_for(make_api_key(tenant, role=Role.MODERATOR, scopes=ASSESS, name="moderator"))


@pytest.fixture
def learner(api, tenant) -> dict:  # noqa: ANN001
    return make_learner(api, tenant)


def _record(client, tenant, learner, **extra) -> object:  # noqa: ANN001
    body = {"learnerId": learner["id"], "outcome": "competent", "unitStandard": "US 229998", "assessedOn": "2026-11-20", **extra}
    return client.post(url(tenant, "assessments"), body, format="json")


def test_an_assessor_records_an_outcome_with_linked_evidence(api, assessor, tenant, learner):
    evidence = upload(api, tenant, learner_id=learner["id"]).json()

    response = _record(assessor, tenant, learner, evidenceIds=[evidence["id"]], comments="Demonstrated safely")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "competent" and body["evidenceIds"] == [evidence["id"]]
    assert body["assessedOn"] == "2026-11-20" and body["assessorId"].startswith("api-key:")
    assert body["moderationDecision"] is None and body["overturned"] is False
    event = Event.objects.get(tenant=tenant, type="assessment.recorded")
    assert event.data["evidenceIds"] == [evidence["id"]] and event.subject_id == body["id"]


def test_evidence_of_another_tenant_cannot_be_linked(api, assessor, tenant, learner):
    other = TenantFactory()
    other_api = client_for(make_api_key(other))
    foreign_learner = make_learner(other_api, other)
    foreign = upload(other_api, other, learner_id=foreign_learner["id"]).json()

    response = _record(assessor, tenant, learner, evidenceIds=[foreign["id"]])

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "evidenceIds"
    assert not Assessment.objects.exists()
    assert not Event.objects.filter(type="assessment.recorded").exists()


def test_evidence_of_another_learner_cannot_be_linked(api, assessor, tenant, learner):
    someone_else = make_learner(api, tenant, 2)
    evidence = upload(api, tenant, learner_id=someone_else["id"]).json()

    response = _record(assessor, tenant, learner, evidenceIds=[evidence["id"]])

    assert response.status_code == 400 and not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"outcome": "excellent"}, "outcome"),
        ({"unitStandard": ""}, "courseId"),
        ({"courseId": "00000000-0000-0000-0000-000000000000"}, "courseId"),
        ({"assessedOn": "2999-01-01"}, "assessedOn"),
        ({"learnerId": "nobody"}, "learnerId"),
    ],
)
def test_bad_assessments_are_refused(assessor, tenant, learner, extra, field):
    response = _record(assessor, tenant, learner, **extra)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["field"] == field
    assert not Assessment.objects.exists()


def test_a_moderator_overturns_an_assessment_and_the_assessment_shows_it(assessor, moderator, tenant, learner):
    assessment = _record(assessor, tenant, learner).json()

    response = moderator.post(url(tenant, f"assessments/{assessment['id']}/moderation"), {"decision": "overturned", "comments": "Evidence insufficient"}, format="json")

    assert response.status_code == 201, response.content
    moderation = response.json()
    assert moderation["decision"] == "overturned" and moderation["assessmentId"] == assessment["id"]
    shown = assessor.get(url(tenant, f"assessments/{assessment['id']}")).json()
    assert shown["overturned"] is True and shown["moderationDecision"] == "overturned"
    assert [m["id"] for m in shown["moderations"]] == [moderation["id"]]
    assert assessor.get(url(tenant, f"moderations/{moderation['id']}")).json()["decision"] == "overturned"
    event = Event.objects.get(tenant=tenant, type="moderation.completed")
    assert event.data["assessmentId"] == assessment["id"] and event.subject_id == moderation["id"]


def test_the_assessor_may_not_moderate_their_own_assessment(api, tenant, learner):
    # An admin key may both assess and moderate, but never its own assessment.
    assessment = _record(api, tenant, learner).json()

    response = api.post(url(tenant, f"assessments/{assessment['id']}/moderation"), {"decision": "upheld"}, format="json")

    assert response.status_code == 403
    assert "own assessment" in response.json()["error"]["message"]
    assert not Moderation.objects.exists()
    assert Assessment.objects.get(pk=assessment["id"]).moderation_decision == ""
    assert not Event.objects.filter(type="moderation.completed").exists()


def test_an_assessment_of_another_tenant_cannot_be_moderated(assessor, tenant, learner):
    assessment = _record(assessor, tenant, learner).json()
    other = TenantFactory()
    stranger = client_for(make_api_key(other, role=Role.MODERATOR, scopes=ASSESS))

    response = stranger.post(url(other, f"assessments/{assessment['id']}/moderation"), {"decision": "overturned"}, format="json")

    assert response.status_code == 404 and not Moderation.objects.exists()


def test_assessments_list_filters_by_learner_and_outcome(assessor, tenant, learner, api):
    second = make_learner(api, tenant, 2)
    _record(assessor, tenant, learner)
    _record(assessor, tenant, second, outcome="not_yet_competent")

    assert assessor.get(url(tenant, "assessments")).json()["pagination"]["total"] == 2
    only = assessor.get(url(tenant, "assessments?outcome=not_yet_competent")).json()["data"]
    assert [a["learnerId"] for a in only] == [second["id"]]
    assert assessor.get(url(tenant, f"assessments?learnerId={learner['id']}")).json()["pagination"]["total"] == 1
