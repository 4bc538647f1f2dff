"""Recording many events of one type at once (periodic sweeps): one INSERT for the events, one for their deliveries.

Same contract as `webhooks.outbox.record_event` — inside the caller's transaction, every `data`
checked against the catalog, deliveries numbered per endpoint and enqueued only after commit —
at a fraction of the round trips when a sweep records thousands of events.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tenants.models import Tenant
from webhooks import catalog, wake
from webhooks.models import Delivery, DeliveryState, Endpoint, Event, new_delivery_id, new_event_id
from webhooks.outbox import check_event_data, deliveries_due

BATCH = 1000


def _matching_endpoints(tenant: Tenant, name: str) -> list[str]:
    rows = Endpoint.objects.filter(tenant=tenant, enabled=True).values_list("pk", "events")
    return sorted(pk for pk, wanted in rows if not wanted or name in wanted)


def _insert_events(tenant: Tenant, name: str, events: list[Event]) -> None:
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(events, batch_size=BATCH)
        return
    # One statement with a fixed number of array parameters, whatever the batch size.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} (id, tenant_id, type, data, subject_type, subject_id, created_at) "
            "SELECT t.id, %s, %s, t.data::jsonb, t.subject_type, t.subject_id, %s "
            "FROM unnest(%s::varchar[], %s::text[], %s::varchar[], %s::varchar[]) AS t(id, data, subject_type, subject_id)",
            [
                tenant.pk, name, events[0].created_at,
                [e.id for e in events], [json.dumps(e.data) for e in events],
                [e.subject_type for e in events], [e.subject_id for e in events],
            ],
        )


def _insert_deliveries(tenant: Tenant, name: str, deliveries: list[Delivery], now: Any) -> None:
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_create(deliveries, batch_size=BATCH)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Delivery._meta.db_table} (id, tenant_id, event_id, endpoint_id, event_type, sequence, state, "
            "attempt_count, next_attempt_at, claim_token, enqueued_at, is_ping, last_error, created_at, updated_at) "
            "SELECT t.id, %s, t.event_id, t.endpoint_id, %s, t.sequence, %s, 0, %s, '', %s, false, '', %s, %s "
            "FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::bigint[]) AS t(id, event_id, endpoint_id, sequence)",
            [
                tenant.pk, name, DeliveryState.PENDING, now, None, now, now,
                [d.id for d in deliveries], [d.event_id for d in deliveries],
                [d.endpoint_id for d in deliveries], [d.sequence for d in deliveries],
            ],
        )


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
        Event(id=new_event_id(), tenant_id=tenant.pk, type=name, data=data, subject_type=subject_type, subject_id=str(subject_id), created_at=now)
        for data, subject_type, subject_id in items
    ]
    _insert_events(tenant, name, events)
    candidates = _matching_endpoints(tenant, name) if catalog.BY_NAME[name].fan_out else []
    if not candidates:
        return events
    # Locked in id order (as single events lock them), each endpoint's sequence rises by the number of events.
    locked = list(Endpoint.objects.select_for_update().filter(pk__in=candidates, enabled=True).order_by("pk").values_list("pk", "sequence"))
    Endpoint.objects.filter(pk__in=[pk for pk, _ in locked]).update(sequence=F("sequence") + len(events))
    deliveries = [
        Delivery(
            id=new_delivery_id(), tenant=tenant, event=event, endpoint_id=endpoint_id, event_type=name, sequence=last + offset + 1,
            state=DeliveryState.PENDING, attempt_count=0, next_attempt_at=now, enqueued_at=None,
        )
        for endpoint_id, last in locked
        for offset, event in enumerate(events)
    ]
    _insert_deliveries(tenant, name, deliveries, now)
    # Messages only for the deliveries a free in-flight place was reserved for (webhooks/wake.py).
    woken = wake.deliveries_to_wake([d.id for d in deliveries], endpoints={d.id: d.endpoint_id for d in deliveries})
    deliveries_due.fire_on_commit(woken)
    return events
