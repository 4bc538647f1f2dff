"""Recording many events of one type at once (periodic sweeps): one INSERT for the events, one for their deliveries.

Same contract as `webhooks.outbox.record_event` — inside the caller's transaction, every `data`
checked against the catalog, deliveries numbered per endpoint and enqueued only after commit —
at a fraction of the round trips when a sweep records thousands of events.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tenants.models import Tenant
from webhooks import catalog
from webhooks.models import Delivery, DeliveryState, Endpoint, Event, new_delivery_id, new_event_id
from webhooks.outbox import check_event_data, enqueue_deliveries

BATCH = 1000


def _matching_endpoints(tenant: Tenant, name: str) -> list[str]:
    rows = Endpoint.objects.filter(tenant=tenant, enabled=True).values_list("pk", "events")
    return sorted(pk for pk, wanted in rows if not wanted or name in wanted)


def record_events(*, tenant: Tenant, event_type: str, items: Sequence[tuple[Mapping[str, Any], str, str]]) -> list[Event]:
    """Record one event per (data, subject_type, subject_id) in the caller's transaction; delivered only if it commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_events must be called inside the transaction that makes the change")
    if not items:
        return []
    name = catalog.canonical(event_type)
    for data, _, _ in items:
        check_event_data(name, data)
    now = timezone.now()
    events = [
        Event(id=new_event_id(), tenant=tenant, type=name, data=data, subject_type=subject_type, subject_id=str(subject_id), created_at=now)
        for data, subject_type, subject_id in items
    ]
    Event.objects.bulk_create(events, batch_size=BATCH)
    candidates = _matching_endpoints(tenant, name) if catalog.BY_NAME[name].fan_out else []
    if not candidates:
        return events
    # Locked in id order (as single events lock them), each endpoint's sequence rises by the number of events.
    locked = list(Endpoint.objects.select_for_update().filter(pk__in=candidates, enabled=True).order_by("pk").values_list("pk", "sequence"))
    Endpoint.objects.filter(pk__in=[pk for pk, _ in locked]).update(sequence=F("sequence") + len(events))
    deliveries = [
        Delivery(
            id=new_delivery_id(), tenant=tenant, event=event, endpoint_id=endpoint_id, event_type=name, sequence=last + offset + 1,
            state=DeliveryState.PENDING, attempt_count=0, next_attempt_at=now, enqueued_at=now,
        )
        for endpoint_id, last in locked
        for offset, event in enumerate(events)
    ]
    Delivery.objects.bulk_create(deliveries, batch_size=BATCH)
    delivery_ids = [d.id for d in deliveries]
    transaction.on_commit(lambda: enqueue_deliveries(delivery_ids))
    return events
