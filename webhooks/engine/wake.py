"""Waking deliveries: the messages recording an event, a resumed endpoint and the sweep send.

Each message holds a reservation of one of the endpoint's free in-flight places (a `queued` slot,
for WEBHOOKS_QUEUE_LEASE), so an endpoint never has more messages on their way than places, however long
its backlog; a lost message frees its place when the reservation runs out. See webhooks/flow.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from skillhub.db import db_time
from webhooks.engine.turns import (
    CAP_SQL,
    DUE_SQL,
    FREE_SQL,
    cap_params,
    default_cap,
    effective_cap,
    ensure_slots,
    queue_lease,
)
from webhooks.models import Delivery, DeliveryState, Endpoint, EndpointSlot, SlotState

_D = Delivery._meta.db_table
_P = Endpoint._meta.db_table
_S = EndpointSlot._meta.db_table


# For the fan-out (after its `ins` CTE of new deliveries): reserve a free slot of each new
# delivery's endpoint for it, so that at most `cap` messages per endpoint are ever on their way.
# Parameters (reserve_for_new_params): queue lease, now, cap params.
RESERVE_FOR_NEW_CTE = f"""woke AS (
  UPDATE {_S} SET state = 'queued', delivery_id = ins.id, claim_token = '', leased_until = %s
  FROM ins WHERE {_S}.id = (
    SELECT s.id FROM {_S} s JOIN {_P} p ON p.id = s.endpoint_id
    WHERE s.endpoint_id = ins.endpoint_id AND {FREE_SQL} AND s.number < {CAP_SQL}
    ORDER BY s.number LIMIT 1 FOR UPDATE OF s SKIP LOCKED)
  RETURNING {_S}.delivery_id
)"""
_RESERVE_ONE = f"""UPDATE {_S} SET state = 'queued', delivery_id = %s, claim_token = '', leased_until = %s
WHERE id = (
  SELECT s.id FROM {_S} s JOIN {_P} p ON p.id = s.endpoint_id JOIN {_D} d ON d.endpoint_id = p.id
  WHERE d.id = %s AND {FREE_SQL} AND s.number < {CAP_SQL} ORDER BY s.number LIMIT 1)"""


def reserve_for_new_params(now: datetime) -> list[Any]:
    return [db_time(now + queue_lease()), db_time(now), *cap_params(now)]


def deliveries_to_wake(
    delivery_ids: list[str], *, endpoints: dict[str, str] | None = None, now: datetime | None = None
) -> list[str]:
    """Reserve a free slot for each new delivery whose endpoint has one; return those (to send messages for).

    The portable twin of RESERVE_FOR_NEW_CTE. With `endpoints` (delivery id → endpoint id), an
    endpoint found full is not asked again for the following deliveries.
    """
    now = now or timezone.now()
    woken, full = [], set()
    with connection.cursor() as cursor:
        for delivery_id in delivery_ids:
            endpoint_id = (endpoints or {}).get(delivery_id)
            if endpoint_id is not None and endpoint_id in full:
                continue
            cursor.execute(_RESERVE_ONE, [delivery_id, db_time(now + queue_lease()), delivery_id, db_time(now), *cap_params(now)])
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
    at, stale = db_time(now), db_time(stale_before)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT d.endpoint_id FROM {_D} d JOIN {_P} p ON p.id = d.endpoint_id "
            f"WHERE {DUE_SQL} AND p.enabled AND (d.state = 'sending' OR d.enqueued_at IS NULL OR d.enqueued_at <= %s) "
            f"AND {CAP_SQL} > 0 LIMIT %s",
            [at, at, stale, *cap_params(now), limit],
        )
        endpoint_ids = [row[0] for row in cursor.fetchall()]
    turns: list[list[str]] = []
    for endpoint_id in endpoint_ids:
        turns.append(_reserve(endpoint_id=endpoint_id, now=now, stale_before=stale_before))
    ordered: list[str] = []
    for rank in range(max((len(t) for t in turns), default=0)):
        ordered += [t[rank] for t in turns if rank < len(t)]
    return ordered


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
        free = list(
            EndpointSlot.objects.select_for_update(skip_locked=True)
            .filter(endpoint_id=endpoint_id, number__lt=cap)
            .exclude(state__in=[SlotState.QUEUED, SlotState.SENDING], leased_until__gte=now)
            .order_by("number")
        )
        if not free:
            return []
        reserved = EndpointSlot.objects.filter(endpoint_id=endpoint_id, state=SlotState.QUEUED, leased_until__gte=now).values(
            "delivery_id"
        )
        due = list(
            Delivery.objects.filter(endpoint_id=endpoint_id, is_ping=False)
            .filter(_due_q(now) & (_stale_q(stale_before) | _expired_q(now)))
            .exclude(id__in=reserved)
            .order_by("sequence")
            .values_list("id", flat=True)[: len(free)]
        )
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
