"""The readiness board, unmatched and rejected signals, and the signal map page of the console."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from learning.models import Learner, OnboardingCompletion
from learning.evidence.services import onboarding_step_create
from signals_inbox.models import InboxSettings, RejectedSignal, SignalMapEntry
from tests.console.factories import PASSWORD, console_user, need_row
from tests.factories import LearnerFactory, SiteFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(client):  # noqa: ANN001, ANN201
    tenant = TenantFactory(slug="acme")
    site = SiteFactory(tenant=tenant, name="North Pit")
    step = onboarding_step_create(tenant=tenant, name="Site induction")
    worker = LearnerFactory(tenant=tenant, site=site, first_name="Nomsa", last_name="Dube")
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    return tenant, site, step, worker


def test_board_shows_site_counts_and_reason_rows_with_links(client, board):  # noqa: ANN001
    tenant, site, _, worker = board
    need = need_row(tenant, topic="Confined Spaces", target="worker", learner=worker, severity=4)
    page = client.get(reverse("admin:readiness")).content.decode()
    assert "North Pit" in page and "not ready" in page
    assert "Site induction" in page and "Mark “Site induction” done" in page
    assert reverse("admin:signals_inbox_need_change", args=[need.pk]) in page
    assert "Nomsa Dube" not in client.get(reverse("admin:readiness"), {"reason": "ready"}).content.decode()
    assert "Nomsa Dube" in client.get(reverse("admin:readiness"), {"reason": "onboarding", "site": "North Pit"}).content.decode()


def test_completing_the_last_step_turns_the_worker_ready(client, board):  # noqa: ANN001
    tenant, _, step, worker = board
    response = client.post(reverse("admin:readiness_complete_step"), {"tenant": tenant.slug, "learner": str(worker.pk), "step": str(step.pk)})
    assert response.status_code == 302
    assert OnboardingCompletion.objects.filter(step=step, learner=worker).exists()
    assert "Nomsa Dube" in client.get(reverse("admin:readiness"), {"reason": "ready"}).content.decode()


def test_another_tenants_board_and_steps_are_not_found(client, board):  # noqa: ANN001
    tenant, _, step, _ = board
    other = TenantFactory(slug="other")
    stranger = LearnerFactory(tenant=other)
    assert client.get(reverse("admin:readiness"), {"tenant": "other"}).status_code == 404
    response = client.post(reverse("admin:readiness_complete_step"), {"tenant": tenant.slug, "learner": str(stranger.pk), "step": str(step.pk)})
    assert response.status_code == 404
    assert client.post(reverse("admin:readiness_complete_step"), {"tenant": tenant.slug, "learner": "x", "step": "nope"}).status_code == 404


def test_a_viewer_sees_the_board_but_cannot_complete_steps(client, board):  # noqa: ANN001
    tenant, _, step, worker = board
    console_user(tenant, "watcher", role="viewer")
    client.login(username="watcher", password=PASSWORD)
    page = client.get(reverse("admin:readiness")).content.decode()
    assert "Nomsa Dube" in page and "Mark “Site induction” done" not in page
    assert client.post(reverse("admin:readiness_complete_step"), {"tenant": tenant.slug, "learner": str(worker.pk), "step": str(step.pk)}).status_code == 403


def _board_queries(client, **params) -> int:  # noqa: ANN001, ANN003
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:readiness"), params).status_code == 200
    return len(queries)


def test_board_query_count_is_the_same_for_10_and_500_workers(client, board):  # noqa: ANN001
    tenant, site, _, _ = board
    LearnerFactory.create_batch(9, tenant=tenant, site=site)
    _board_queries(client)  # warm the per-process caches first
    few, few_filtered = _board_queries(client), _board_queries(client, reason="onboarding")
    Learner.objects.bulk_create([Learner(tenant=tenant, site=site, first_name=f"W{i}", last_name="X", email=f"w{i}@x.example") for i in range(490)])
    many, many_filtered = _board_queries(client), _board_queries(client, reason="onboarding")
    assert many == few
    # Filtering by reason walks the workers 500 at a time and stops once the page is full.
    assert many_filtered <= few_filtered


def test_rejected_signal_is_fixed_and_reprocessed(client, board):  # noqa: ANN001
    tenant, *_ = board
    rejected = RejectedSignal.objects.create(tenant=tenant, body='{"event": "signal.incident", "data": {}}', reason="no worker or site")
    page = client.get(reverse("admin:unmatched")).content.decode()
    assert "no worker or site" in page
    fixed = json.dumps({"event": "signal.incident", "data": {"site": "North Pit", "topic": "Ladders"}})
    response = client.post(reverse("admin:reprocess", args=[rejected.pk]), {"tenant": tenant.slug, "body": fixed})
    assert response.status_code == 302
    rejected.refresh_from_db()
    assert rejected.reprocessed_signal_id.startswith("sig_")


def test_unmatched_workers_are_grouped_by_the_id_the_signal_gave(client, board):  # noqa: ANN001
    tenant, *_ = board
    need_row(tenant, topic="A", target="unmatched", worker_ref="external_worker_id:W-77")
    need_row(tenant, topic="B", target="unmatched", worker_ref="external_worker_id:W-77")
    page = client.get(reverse("admin:unmatched")).content.decode()
    assert page.count("external_worker_id:W-77") == 1


def test_signal_map_saves_through_the_service_and_the_dry_run_stores_nothing(client, board):  # noqa: ANN001
    tenant, *_ = board
    mapping = {"near_miss": {"topic": "Hazard Awareness", "severity": 4}}
    response = client.post(
        reverse("admin:signal_map"),
        {"tenant": tenant.slug, "save": "1", "auto_author": "on", "auto_author_threshold": "2", "authoring_quota_monthly": "3", "map": json.dumps(mapping)},
    )
    assert response.status_code == 302
    assert InboxSettings.objects.get(tenant=tenant).auto_author is True
    assert SignalMapEntry.objects.get(settings__tenant=tenant).topic == "Hazard Awareness"
    sample = {"event": "signal.near_miss", "data": {"site": "North Pit"}}
    page = client.post(reverse("admin:signal_map"), {"tenant": tenant.slug, "preview": "1", "sample": json.dumps(sample)}).content.decode()
    assert "Hazard Awareness" in page
    assert "author one" in page
    assert "would open a new need" in page
    bad = client.post(reverse("admin:signal_map"), {"tenant": tenant.slug, "save": "1", "auto_author_threshold": "2", "authoring_quota_monthly": "3", "map": "{nope"})
    assert bad.status_code == 200 and "Not valid JSON" in bad.content.decode()
    invalid = client.post(reverse("admin:signal_map"), {"tenant": tenant.slug, "save": "1", "auto_author_threshold": "2", "authoring_quota_monthly": "3", "map": '{"BAD TYPE!": {}}'})
    assert invalid.status_code == 200
    assert SignalMapEntry.objects.get(settings__tenant=tenant).type == "near_miss"
    assert timezone.now()
