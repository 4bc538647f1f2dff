"""The transactional outbox: recording an event with its deliveries, and handing due deliveries to the broker.

Every app records its domain events through `record_event`, inside the transaction that makes the
change; the deliveries are written in the same transaction and enqueued only after it commits.
Enqueueing is the `deliveries_due` hook, whose receiver lives with the actors (`webhooks.engine.actors`).
The database, not the broker, knows what is pending: `deliveries_enqueue_due` re-sends whatever a
lost message, a killed worker or a down broker left behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from skillhub.hooks import Hook
from tenants.models import Tenant
from webhooks import catalog
from webhooks.engine import fanout, wake
from webhooks.contract.schema import validate
from webhooks.models import Delivery, DeliveryState, Event

# A row whose message was sent this recently is left to that message by the sweep.
ENQUEUE_GRACE = timedelta(seconds=30)

# Fired with (delivery_ids, delay=None) when deliveries are due; `webhooks.engine.actors` connects the
# receiver that sends one broker message per id, and returns how many it sent.
deliveries_due = Hook("webhooks.deliveries_due")


def check_event_data(name: str, data: Any) -> None:
    """Raise EventDataMismatch when checking is on and `data` breaks the published schema of `name`."""
    if settings.WEBHOOKS_VALIDATE_EVENTS:
        validate(catalog.BY_NAME[name].data, data, label=f"{name} data")


def record_event(
    *,
    tenant: Tenant,
    event_type: str,
    data: Mapping[str, Any],
    subject_type: str = "",
    subject_id: str = "",
) -> Event:
    """Record a domain event in the caller's transaction; it is delivered only if that commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must be called inside the transaction that makes the change")
    name = catalog.canonical(event_type)  # an unknown type is a programming error: UnknownEventType
    check_event_data(name, data)
    values: dict[str, Any] = {"tenant_id": tenant.pk, "event_type": name, "data": data, "subject_type": subject_type, "subject_id": str(subject_id)}
    if not catalog.BY_NAME[name].fan_out:
        return fanout.insert_event(**values)
    event, delivery_ids = fanout.record(**values)
    if delivery_ids:
        deliveries_due.fire_on_commit(delivery_ids)
    return event


def record_events(
    *, tenant: Tenant, event_type: str, items: Sequence[tuple[Mapping[str, Any], str, str]]
) -> list[Event]:
    """Record several events of one type, each (data, subject_type, subject_id), in the caller's transaction.

    The same rows as `record_event` once per item, written in a fixed number of statements.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_events must be called inside the transaction that makes the change")
    name = catalog.canonical(event_type)
    for data, _subject_type, _subject_id in items:
        check_event_data(name, data)
    items = [(data, subject_type, str(subject_id)) for data, subject_type, subject_id in items]
    if not catalog.BY_NAME[name].fan_out:
        return [fanout.insert_event(tenant_id=tenant.pk, event_type=name, data=data, subject_type=st, subject_id=si) for data, st, si in items]
    events, delivery_ids = fanout.record_many(tenant_id=tenant.pk, event_type=name, items=items)
    if delivery_ids:
        deliveries_due.fire_on_commit(delivery_ids)
    return events


def deliveries_enqueue_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Send messages for due deliveries whose message is lost, late or never sent; return how many.

    Only as many per endpoint as it has free in-flight slots, endpoints taking turns
    (webhooks/flow.py); the rest wait in the database for their endpoint's chain.
    """
    now = now or timezone.now()
    woken = wake.wake_due(now=now, stale_before=now - ENQUEUE_GRACE, limit=limit)
    # A ping holds no place (it may test a disabled endpoint): its message is re-sent as it was.
    pings = list(
        Delivery.objects.filter(state=DeliveryState.PENDING, is_ping=True, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=now - ENQUEUE_GRACE))
        .values_list("id", flat=True)[:limit]
    )
    if pings:
        Delivery.objects.filter(pk__in=pings).update(enqueued_at=now)
    return sum(sent or 0 for sent in deliveries_due.fire(woken + pings))
