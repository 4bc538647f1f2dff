"""Every row of document 004's event-type table becomes the need the table says."""
from __future__ import annotations

import json

import pytest

from signals_inbox.models import Target
from signals_inbox.services import need_offer
from tests.factories import LearnerFactory, SiteFactory
from tests.signals_inbox.factories import post_signal, published_course, send_and_resolve

pytestmark = pytest.mark.django_db


def test_credential_expiring_becomes_a_refresher_offered_to_the_worker(client, tenant, secret):
    learner = LearnerFactory(tenant=tenant, email="jordan@acme.com")
    course = published_course(tenant, title="WAH refresher", topic="Working at Heights")

    need = send_and_resolve(
        client, tenant, secret, "signal.credential_expiring",
        email="jordan@acme.com", topic="Working at Heights", payload={"credential": "WAH licence", "expires_at": "2026-07-15"},
    )
    assignments = need_offer(need=need, actor="test")

    assert (need.category, need.severity, need.target) == ("Refresher", 3, Target.WORKER)
    assert need.payload == {"credential": "WAH licence", "expires_at": "2026-07-15"}
    assert [(a.learner_id, a.course_id) for a in assignments] == [(learner.pk, course.pk)]


def test_credential_expired_becomes_a_blocking_need(client, tenant, secret):
    LearnerFactory(tenant=tenant, external_worker_id="W-1")

    need = send_and_resolve(client, tenant, secret, "signal.credential_expired", external_worker_id="W-1", topic="First Aid")

    assert need.severity == 4
    assert need.target == Target.WORKER


def test_incident_becomes_a_cohort_need_for_the_site(client, tenant, secret):
    site = SiteFactory(tenant=tenant, name="Site A")
    crew = [LearnerFactory(tenant=tenant, site=site) for _ in range(3)]
    LearnerFactory(tenant=tenant)  # elsewhere
    published_course(tenant, title="Lifting safely", topic="Manual Handling")

    need = send_and_resolve(
        client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling", severity=4,
        payload={"ref": "INC-2043", "summary": "strain lifting stock"},
    )
    assignments = need_offer(need=need, actor="test")

    assert (need.target, need.site_name, need.severity) == (Target.COHORT, "Site A", 4)
    assert sorted(a.learner_id for a in assignments) == sorted(l.pk for l in crew)


def test_role_assigned_becomes_role_readiness_training(client, tenant, secret):
    learner = LearnerFactory(tenant=tenant, external_worker_id="W-123")

    need = send_and_resolve(client, tenant, secret, "signal.role_assigned", external_worker_id="W-123", topic="Forklift Operation")

    assert need.category == "Role readiness"
    assert need.learner == learner


def test_policy_updated_becomes_a_briefing_for_the_site(client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, "signal.policy_updated", site="Head Office", topic="Data Privacy")

    assert need.category == "Policy briefing"
    assert need.target == Target.COHORT


def test_onboarding_gap_becomes_an_onboarding_step_for_the_worker(client, tenant, secret):
    learner = LearnerFactory(tenant=tenant, email="new@acme.com")

    need = send_and_resolve(client, tenant, secret, "signal.onboarding_gap", email="new@acme.com", topic="Site Induction")

    assert need.category == "Onboarding"
    assert need.learner == learner


def test_signal_with_data_type_is_the_same_as_signal_dot_type(client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, "signal", type="credential_expired", email="a@b.c", topic="First Aid")

    assert need.type == "credential_expired"
    assert need.severity == 4


def test_unrecognised_type_is_accepted_with_default_severity(client, tenant, secret):
    need = send_and_resolve(client, tenant, secret, "signal.near_miss", site="Site A", topic="Hazard Awareness")

    assert (need.type, need.severity, need.category) == ("near_miss", 2, "")


@pytest.mark.parametrize(
    "document, detail",
    [
        ({"event": "signal", "data": {"site": "A", "topic": "T"}}, "event 'signal' needs data.type"),
        ({"event": "signal.incident", "data": {"type": "role_assigned", "site": "A", "topic": "T"}}, "disagree"),
        ({"event": "incident", "data": {"site": "A", "topic": "T"}}, "event must be"),
        ({"event": "signal.incident", "data": {"topic": "T"}}, "needs a worker"),
        ({"event": "signal.bad type!", "data": {"site": "A", "topic": "T"}}, "signal type"),
    ],
)
def test_malformed_events_are_400_with_the_reason(client, tenant, secret, document, detail):
    response = post_signal(client, tenant.slug, json.dumps(document).encode(), secret=secret)

    assert response.status_code == 400
    assert detail in response.json()["detail"]
