"""Recording several events of one type in sets writes the rows recording them one by one would."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.factories import TenantFactory
from tests.webhooks.helpers import make_endpoint
from webhooks.models import Delivery, DeliveryState, Endpoint, Event
from webhooks.outbox import record_event, record_events
from webhooks.services import endpoint_update

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks"


def _need(n: int, tenant_id: str) -> dict:
    return {
        "id": f"00000000-0000-7000-8000-{n:012d}", "tenantId": tenant_id, "status": "open", "type": "incident",
        "topic": f"Topic {n}", "category": None, "severity": 2, "dedupeKey": f"incident:site:topic {n}", "target": "cohort",
        "learnerId": None, "workerRef": None, "site": "Site A", "action": "author", "recommendedCourseId": None, "match": None,
        "payload": {"n": n}, "signalCount": 1, "firstSeenAt": "2026-01-01T00:00:00Z", "lastSeenAt": "2026-01-01T00:00:00Z",
        "closedAt": None, "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
    }  # fmt: skip


def _setup(tenant) -> None:  # noqa: ANN001
    make_endpoint(tenant, URL)
    make_endpoint(tenant, URL, events=["need.created"])
    make_endpoint(tenant, URL, events=["learner.created"])  # filtered out
    off = make_endpoint(tenant, URL)
    endpoint_update(endpoint=off, values={"enabled": False})
    Endpoint.objects.filter(tenant=tenant).update(sequence=5)  # earlier events were numbered already


def _rows(tenant) -> list[tuple]:  # noqa: ANN001
    """Events and deliveries, comparable across tenants: endpoint by creation order, events by their data."""
    endpoints = {pk: n for n, pk in enumerate(Endpoint.objects.filter(tenant=tenant).order_by("created_at", "id").values_list("pk", flat=True))}
    events = [(e.type, e.subject_type, e.data["topic"], e.data == _need(int(e.data["topic"].split()[1]), str(tenant.pk))) for e in Event.objects.filter(tenant=tenant).order_by("data__topic")]
    deliveries = sorted(
        (endpoints[d.endpoint_id], d.sequence, d.event.data["topic"], d.state, d.event_type, d.is_ping, d.attempt_count)
        for d in Delivery.objects.filter(tenant=tenant).select_related("event")
    )
    return [events, deliveries, sorted((endpoints[pk], seq) for pk, seq in Endpoint.objects.filter(tenant=tenant).values_list("pk", "sequence"))]


def test_record_events_writes_the_rows_of_record_event_called_once_per_item(allow_private):
    one_by_one, in_sets = TenantFactory(), TenantFactory()
    for tenant in (one_by_one, in_sets):
        _setup(tenant)

    with transaction.atomic():
        for n in range(7):
            record_event(tenant=one_by_one, event_type="need.created", data=_need(n, str(one_by_one.pk)), subject_type="need", subject_id=f"id-{n}")
        record_events(tenant=in_sets, event_type="need.created", items=[(_need(n, str(in_sets.pk)), "need", f"id-{n}") for n in range(7)])

    assert _rows(in_sets) == _rows(one_by_one)
    deliveries = _rows(in_sets)[1]
    assert len(deliveries) == 14 and {d[3] for d in deliveries} == {DeliveryState.PENDING}
    # Each endpoint's sequence numbers follow the items' order.
    by_topic = {d[2]: d[1] for d in deliveries if d[0] == 0}
    assert [by_topic[f"Topic {n}"] for n in range(7)] == list(range(6, 13))
    assert sorted(Event.objects.filter(tenant=in_sets).values_list("subject_id", flat=True)) == [f"id-{n}" for n in range(7)]


def test_record_events_without_endpoints_writes_only_the_events():
    tenant = TenantFactory()
    with transaction.atomic():
        events = record_events(tenant=tenant, event_type="need.created", items=[(_need(n, str(tenant.pk)), "need", f"id-{n}") for n in range(3)])
    assert len(events) == Event.objects.filter(tenant=tenant).count() == 3
    assert not Delivery.objects.exists()
