"""Readiness: each worker ready or not, one reason row per cause, and a per-site summary."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from learning.evidence.services import credential_create, onboarding_complete, onboarding_step_create
from learning.services import assignment_create
from tests.factories import LearnerFactory, SiteFactory
from tests.signals_inbox.factories import published_course, send_and_resolve

pytestmark = pytest.mark.django_db


def _board(api, **params):
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/readiness", params)
    assert response.status_code == 200, response.json()
    return response.json()


def _row(board: dict, learner) -> dict:
    return next(row for row in board["data"] if row["learnerId"] == str(learner.pk))


def test_worker_with_nothing_against_them_is_ready(api, tenant):
    learner = LearnerFactory(tenant=tenant)

    row = _row(_board(api), learner)

    assert row["ready"] is True
    assert row["reasons"] == []


def test_credentials_give_valid_expiring_and_expired_rows(api, tenant):
    today = timezone.localdate()
    learner = LearnerFactory(tenant=tenant)
    credential_create(tenant=tenant, learner=learner, name="First Aid", valid_until=today + timedelta(days=200))
    credential_create(tenant=tenant, learner=learner, name="WAH licence", valid_until=today + timedelta(days=10))
    credential_create(tenant=tenant, learner=learner, name="Forklift", valid_until=today - timedelta(days=3))

    row = _row(_board(api), learner)

    states = {r["name"]: (r["state"], r["blocking"]) for r in row["reasons"]}
    assert states == {"First Aid": ("valid", False), "WAH licence": ("expiring", False), "Forklift": ("expired", True)}
    assert next(r for r in row["reasons"] if r["name"] == "WAH licence")["detail"] == "expiring in 10 days"
    assert row["ready"] is False


def test_missing_onboarding_steps_block(api, tenant):
    learner = LearnerFactory(tenant=tenant)
    induction = onboarding_step_create(tenant=tenant, name="Site induction")
    onboarding_step_create(tenant=tenant, name="PPE issue")
    onboarding_complete(step=induction, learner=learner)

    row = _row(_board(api), learner)

    assert [(r["kind"], r["name"]) for r in row["reasons"]] == [("onboarding", "PPE issue")]
    assert row["ready"] is False


def test_overdue_assignments_block(api, tenant):
    learner = LearnerFactory(tenant=tenant)
    course = published_course(tenant, title="Ladders", topic="Ladders")
    assignment_create(tenant=tenant, learner=learner, course=course, due_date=timezone.localdate() - timedelta(days=1))

    row = _row(_board(api), learner)

    assert [r["kind"] for r in row["reasons"]] == ["assignment"]
    assert row["ready"] is False


def test_open_signals_show_with_severity_and_only_blocking_ones_block(api, client, tenant, secret):
    site = SiteFactory(tenant=tenant, name="Site A")
    learner = LearnerFactory(tenant=tenant, email="a@b.c", site=site)
    send_and_resolve(client, tenant, secret, "signal.credential_expiring", email="a@b.c", topic="WAH")  # severity 3
    ready_row = _row(_board(api), learner)
    send_and_resolve(client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling", severity=4)

    row = _row(_board(api), learner)

    assert ready_row["ready"] is True
    assert [(r["kind"], r["severity"], r["scope"]) for r in ready_row["reasons"]] == [("signal", 3, "worker")]
    assert sorted((r["severity"], r["scope"]) for r in row["reasons"]) == [(3, "worker"), (4, "site")]
    assert row["ready"] is False


def test_site_filter_and_site_summary(api, tenant):
    a, b = SiteFactory(tenant=tenant, name="Site A"), SiteFactory(tenant=tenant, name="Site B")
    ok = LearnerFactory(tenant=tenant, site=a)
    blocked = LearnerFactory(tenant=tenant, site=a)
    LearnerFactory(tenant=tenant, site=b)
    credential_create(tenant=tenant, learner=blocked, name="Forklift", valid_until=timezone.localdate() - timedelta(days=1))

    board = _board(api, site="Site A")

    assert sorted(row["learnerId"] for row in board["data"]) == sorted([str(ok.pk), str(blocked.pk)])
    assert board["sites"] == [{"site": "Site A", "learners": 2, "ready": 1, "notReady": 1}]
    assert {s["site"] for s in _board(api)["sites"]} == {"Site A", "Site B"}


def test_readiness_is_paged(api, tenant):
    for _ in range(3):
        LearnerFactory(tenant=tenant)

    board = _board(api, limit=2)

    assert len(board["data"]) == 2
    assert board["pagination"]["hasMore"] is True
    assert board["nextCursor"]
