"""Waking deliveries: the messages recording an event, a resumed endpoint and the sweep send.

Each message holds a reservation of one of the endpoint's free in-flight places (a `queued` slot,
for WEBHOOKS_QUEUE_LEASE), so an endpoint never has more messages on their way than places, however long
its backlog; a lost message frees its place when the reservation runs out. See webhooks/flow.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from skillhub.db import db_time, prepared_cursor, uses_postgres_statements
from webhooks.engine import statements, turns
from webhooks.engine.turns import default_cap, effective_cap, ensure_slots, queue_lease
from webhooks.models import Delivery, DeliveryState, Endpoint, EndpointSlot, SlotState



def deliveries_to_wake(
    delivery_ids: list[str], *, endpoints: dict[str, str] | None = None, now: datetime | None = None
) -> list[str]:
    """Reserve a free slot for each new delivery whose endpoint has one; return those (to send messages for).

    The portable twin of statements.RESERVE_FOR_NEW_CTE. With `endpoints` (delivery id → endpoint id),
    an endpoint found full is not asked again for the following deliveries.
    """
    params = turns.instants(now or timezone.now())
    woken, full = [], set()
    with connection.cursor() as cursor:
        for delivery_id in delivery_ids:
            endpoint_id = (endpoints or {}).get(delivery_id)
            if endpoint_id is not None and endpoint_id in full:
                continue
            cursor.execute(statements.RESERVE_ONE, {**params, "delivery_id": delivery_id})
            if cursor.rowcount == 1:
                woken.append(delivery_id)
            elif endpoint_id is not None:
                full.add(endpoint_id)
    return woken


def wake_due(*, now: datetime, stale_before: datetime, limit: int = 1000) -> list[str]:
    """Reserve free slots of endpoints with due deliveries and return the deliveries to send messages for.

    A due delivery counts when no message was sent for it since `stale_before`, or its claim ran
    out. Endpoints take turns in the answer (first slot of each, then second …), so the messages
    reach the queue interleaved.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            statements.ENDPOINTS_WITH_DUE, {**turns.instants(now), "stale_before": db_time(stale_before), "limit": limit}
        )
        endpoint_ids = [row[0] for row in cursor.fetchall()]
    reserved = [_reserve(endpoint_id=endpoint_id, now=now, stale_before=stale_before) for endpoint_id in endpoint_ids]
    ordered: list[str] = []
    for rank in range(max((len(r) for r in reserved), default=0)):
        ordered += [r[rank] for r in reserved if rank < len(r)]
    return ordered


def after_slots_freed(*, endpoint_ids: Iterable[str] = (), delivery_ids: Iterable[str] = (), now: datetime) -> list[str]:
    """Catch deliveries whose recording raced a slot left free; return those to send messages for.

    A delivery recorded while its endpoint had no free slot gets no message: a slot holder takes
    it when it finishes. Should a slot be freed (a holder found nothing due), or stay free (a
    claim that found nothing held it locked while the recording looked for one), while that
    recording was not yet committed, nobody would take it until the sweep. So after either, wait
    for any recording in flight for the endpoints (named, or those of `delivery_ids`), then wake
    what waits where a slot is free. A worker asks once for all the endpoints of a message.
    """
    params = {
        **turns.instants(now),
        "endpoint_ids": sorted(set(endpoint_ids)),
        "delivery_ids": sorted(set(delivery_ids)),
    }
    if not uses_postgres_statements() or not (params["endpoint_ids"] or params["delivery_ids"]):
        return []  # SQLite: one writer at a time, so the freeing statement saw every committed delivery
    with prepared_cursor() as cursor:
        # One round trip: the look runs once the wait has its locks, in a snapshot of its own (each
        # statement of READ COMMITTED takes one), so it sees what the recordings committed.
        with connection.connection.pipeline():
            cursor.execute(statements.WAIT_FOR_RECORDING_PG, params)
            cursor.execute(statements.WAITING_WITH_ROOM_PG, params)
        waiting_ids = [row[0] for row in cursor.fetchall()]
    woken: list[str] = []
    for endpoint_id in waiting_ids:
        woken += wake_endpoint(endpoint_id=endpoint_id, now=now)
    return woken


def wake_endpoint(*, endpoint_id: str, now: datetime) -> list[str]:
    """Reserve the endpoint's free slots for its due deliveries; return those to send messages for."""
    return _reserve(endpoint_id=endpoint_id, now=now, stale_before=now)


def _reserve(*, endpoint_id: str, now: datetime, stale_before: datetime) -> list[str]:
    with transaction.atomic():
        endpoint = Endpoint.objects.filter(pk=endpoint_id, enabled=True).first()
        if endpoint is None:
            return []
        cap = effective_cap(endpoint, now=now)
        if EndpointSlot.objects.filter(endpoint_id=endpoint_id).count() < cap:
            ensure_slots(endpoint_id=endpoint_id, cap=endpoint.max_in_flight or default_cap())
        reserved = EndpointSlot.objects.filter(endpoint_id=endpoint_id, state=SlotState.QUEUED, leased_until__gte=now).values(
            "delivery_id"
        )
        due = list(
            Delivery.objects.filter(endpoint_id=endpoint_id, is_ping=False)
            .filter(_due_q(now) & (_stale_q(stale_before) | _expired_q(now)))
            .exclude(id__in=reserved)
            .order_by("sequence")
            .values_list("id", flat=True)[:cap]
        )
        if not due:
            return []
        # Only as many free slots locked as there are deliveries to reserve them for: a free slot
        # held locked would be skipped by a recording looking for one, and left free after.
        free = list(
            EndpointSlot.objects.select_for_update(skip_locked=True)
            .filter(endpoint_id=endpoint_id, number__lt=cap)
            .exclude(state__in=[SlotState.QUEUED, SlotState.SENDING], leased_until__gte=now)
            .order_by("number")[: len(due)]
        )
        due = due[: len(free)]
        for slot, delivery_id in zip(free, due):
            slot.state, slot.delivery_id, slot.claim_token = SlotState.QUEUED, delivery_id, ""
            slot.leased_until = now + queue_lease()
            slot.save(update_fields=["state", "delivery_id", "claim_token", "leased_until"])
        Delivery.objects.filter(pk__in=due, state=DeliveryState.PENDING).update(enqueued_at=now)
    return due


def _due_q(now: datetime) -> Any:
    return Q(state=DeliveryState.PENDING, next_attempt_at__lte=now) | Q(state=DeliveryState.SENDING, claimed_until__lt=now)


def _stale_q(stale_before: datetime) -> Any:
    return Q(state=DeliveryState.PENDING) & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=stale_before))


def _expired_q(now: datetime) -> Any:
    return Q(state=DeliveryState.SENDING, claimed_until__lt=now)
