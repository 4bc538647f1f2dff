"""Retention: what has expired is removed in batches, what is pending or open stays, and the log says so."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from signals_inbox.models import AuditEntry, Need, NeedStatus, Signal
from tenants import retention
from tenants.models import RetentionPolicy
from tenants.services import console_admin_create
from tests.factories import TenantFactory, make_api_key
from tests.webhooks.helpers import make_endpoint
from tests.webhooks.history import seed_history
from webhooks.models import Attempt, Delivery, DeliveryState, Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local_targets(settings):  # noqa: ANN001, ANN201
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


def _signal(tenant, *, days_old: int, status: str, key: str) -> Signal:  # noqa: ANN001
    from tests.webhooks.history import _id_at

    when = timezone.now() - timedelta(days=days_old)
    need = Need.objects.create(
        tenant=tenant, dedupe_key=key, status=status, type="t", topic="Forklift", topic_key="forklift",
        first_seen_at=when, last_seen_at=when, created_at=when, updated_at=when,
    )  # fmt: skip
    return Signal.objects.create(
        id=_id_at("sig", when, abs(hash(key)) % 10_000), tenant=tenant, need=need, event="signal.x", type="x", data={}, received_at=when
    )


@pytest.fixture
def history(tenant):  # noqa: ANN001, ANN201
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hook")
    now = timezone.now()
    old = seed_history(endpoint, attempts=40, start=now - timedelta(days=120), step=timedelta(minutes=1))
    middle = seed_history(endpoint, attempts=40, start=now - timedelta(days=45), step=timedelta(minutes=1))
    recent = seed_history(endpoint, attempts=40, start=now - timedelta(days=2), step=timedelta(minutes=1))
    pending = seed_history(
        endpoint, attempts=6, start=now - timedelta(days=200), step=timedelta(minutes=1), state=DeliveryState.PENDING
    )
    return {"endpoint": endpoint, "old": old, "middle": middle, "recent": recent, "pending": pending}


def test_defaults_keep_a_month_of_attempts_a_quarter_of_deliveries_a_year_of_signals_and_all_audit(tenant):
    policy = retention.policy_get(tenant=tenant)
    assert (policy.attempts_days, policy.deliveries_days, policy.signals_days, policy.audit_days) == (30, 90, 365, None)


def test_the_sweep_removes_what_expired_and_keeps_the_rest(tenant, history):
    _signal(tenant, days_old=400, status=NeedStatus.RESOLVED, key="a")
    open_old = _signal(tenant, days_old=400, status=NeedStatus.OPEN, key="b")
    offered_old = _signal(tenant, days_old=500, status=NeedStatus.OFFERED, key="c")
    closed_new = _signal(tenant, days_old=100, status=NeedStatus.DISMISSED, key="d")
    AuditEntry.objects.create(tenant=tenant, actor="user:x", action="offer")
    other = TenantFactory()
    other_endpoint = make_endpoint(other, "http://127.0.0.1:9/other")
    others = seed_history(other_endpoint, attempts=20, start=timezone.now() - timedelta(days=60), step=timedelta(minutes=1))
    RetentionPolicy.objects.create(tenant=other, attempts_days=365, deliveries_days=365)

    result = retention.sweep(batch=7)  # small batches: the loop, not one statement, does the work

    kept = set(Delivery.objects.values_list("id", flat=True))
    assert not kept & {d.pk for d in history["old"]}, "deliveries past 90 days are removed"
    assert {d.pk for d in history["middle"] + history["recent"] + history["pending"] + others} <= kept
    assert not Attempt.objects.filter(delivery__in=history["middle"]).exists(), "attempts past 30 days are removed"
    assert Attempt.objects.filter(delivery__in=history["recent"]).count() == 40
    assert Attempt.objects.filter(delivery__in=history["pending"]).count() == 6, "a pending delivery keeps everything"
    assert Attempt.objects.filter(delivery__in=others).count() == 20, "another tenant's longer policy holds"
    assert result.removed["deliveries"] == 20 and result.removed["attempts"] == 40
    assert not Event.objects.filter(pk=history["old"][0].event_id).exists(), "the old deliveries' event went with them"
    assert Event.objects.filter(pk=history["pending"][0].event_id).exists(), "a pending delivery's event stays"
    assert set(Signal.objects.values_list("id", flat=True)) == {open_old.pk, offered_old.pk, closed_new.pk}
    assert AuditEntry.objects.count() == 1, "audit events are kept by default"

    again = retention.sweep()
    assert again.total == 0


def test_audit_events_go_once_a_retention_is_set(tenant):
    entry = AuditEntry.objects.create(tenant=tenant, actor="user:x", action="offer")
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(days=40))
    AuditEntry.objects.create(tenant=tenant, actor="user:x", action="dismiss")
    retention.policy_update(tenant=tenant, values={"audit_days": 30})
    retention.sweep()
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["dismiss"]


def test_api_reads_and_sets_the_policy_and_refuses_bad_days(api, tenant):
    url = f"/api/v1/tenants/{tenant.slug}/retention"
    body = api.get(url).json()
    assert body["attemptsDays"] == 30 and body["auditDays"] is None and body["removedBefore"]["deliveries"] is None
    response = api.put(url, {"attemptsDays": 7, "deliveriesDays": 30, "signalsDays": 90, "auditDays": 400}, format="json")
    assert response.status_code == 200 and response.json()["attemptsDays"] == 7
    bad = api.put(url, {"attemptsDays": 0, "deliveriesDays": "x", "signalsDays": 90, "colour": 1}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]) >= {"field", "reason"}
    assert api.get(url).json()["attemptsDays"] == 7, "a refused update changes nothing"
    viewer = make_api_key(tenant, role="viewer", scopes=["webhooks:read", "webhooks:write"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {viewer}")
    assert api.put(url, {"attemptsDays": 1, "deliveriesDays": 1, "signalsDays": 1}, format="json").status_code == 403
    assert api.get(url).status_code == 200


def test_the_api_log_and_the_console_say_what_retention_removed(api, client, tenant, history):
    retention.sweep()  # one tenant: the attempts go without joining each to its delivery
    assert not Attempt.objects.filter(delivery__in=history["middle"]).exists()
    assert Attempt.objects.filter(delivery__in=history["pending"]).count() == 6, "a pending delivery keeps its attempts"
    endpoint = history["endpoint"]
    body = api.get(f"/api/v1/tenants/{tenant.slug}/webhooks/{endpoint.pk}/deliveries").json()
    policy = RetentionPolicy.objects.get(tenant=tenant)
    assert body["retentionCutoff"] is not None and body["attemptsRetentionCutoff"] is not None
    assert "deliveries older than" in body["retentionNote"] and "(90 days)" in body["retentionNote"]
    assert policy.deliveries_removed_before is not None
    console_admin_create(tenant=tenant, username="ops", password="pw-console-12345")
    client.login(username="ops", password="pw-console-12345")
    page = client.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])).content.decode()
    note = page.split('id="retention-note"')[1].split("</p>")[0]
    assert "Removed by the retention policy" in note and "attempts older than" in note


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_remove_each_row_once(tenant):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hook")
    old = seed_history(endpoint, attempts=6000, start=timezone.now() - timedelta(days=100), step=timedelta(seconds=1))
    results: list[retention.SweepResult] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(retention.sweep(batch=250))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.removed.get("deliveries", 0) for r in results) == len(old) == 3000
    assert sum(r.removed.get("attempts", 0) for r in results) == 0  # went with their deliveries
    assert not Delivery.objects.exists() and not Attempt.objects.exists()
