"""Fair delivery: in-flight slots per endpoint, the circuit breaker, and rotation between endpoints.

How it works (docs/webhooks.md, "Fair delivery"):

- An endpoint has `maxInFlight` slots (rows of EndpointSlot). A delivery is sent only by a worker
  that holds one of them under a lease; a worker killed mid-request frees its slot when the lease
  runs out. A delivery that finds no free slot is not started: it stays pending in the database.
- A worker claims the endpoint's *lowest-sequence* due delivery, not necessarily the one its
  message named, so waiting deliveries start in sequence order.
- When it has recorded the attempt, the worker keeps its slot for the endpoint's next due
  delivery (state `queued`) and sends one message for it to the back of the broker queue. Each
  endpoint therefore has at most `maxInFlight` messages in the queue, however long its backlog:
  endpoints take turns, and a backlog of 100,000 for one of them sits in the database, not in
  front of anyone else's delivery.
- Recording an event sends a message only for endpoints with a free slot (`wake`); the others'
  chains pick the new delivery up. The sweep wakes whatever a lost message or a race left behind.
- The circuit breaker (webhooks/breaker.py): after WEBHOOKS_BREAKER_THRESHOLD consecutive timeouts
  or connection failures an endpoint has no slot at all until `circuit_open_until`, then one (the
  probe). An answer closes it again. Deliveries held back meanwhile are deferred, not attempted:
  their attempt count and schedule are untouched.
- Waking (webhooks/wake.py): the messages recording an event and the sweep send, each with a
  reserved slot.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from skillhub.db import db_time, uses_postgres_statements
from skillhub.leases import Lease
from webhooks.engine import statements
from webhooks.models import Endpoint, EndpointSlot

logger = logging.getLogger("skillhub.webhooks")


MAX_IN_FLIGHT_LIMIT = 64

def default_cap() -> int:
    return int(settings.WEBHOOKS_MAX_IN_FLIGHT)


# How long a claim and its slot are held: longer than the longest POST and its recording.
CLAIM_LEASE = Lease(setting="WEBHOOKS_CLAIM_LEASE_SECONDS")
# How long a queued slot waits for its message; then it is free again and the sweep re-sends.
QUEUE_LEASE = Lease(setting="WEBHOOKS_QUEUE_LEASE")


def queue_lease() -> timedelta:
    return QUEUE_LEASE.length


def claim_lease() -> timedelta:
    return CLAIM_LEASE.length


def effective_cap(endpoint: Endpoint, *, now: datetime | None = None) -> int:
    """The slots the endpoint has now (the Python twin of the cap rule in webhooks/engine/statements.py)."""
    now = now or timezone.now()
    if endpoint.circuit_open_until is not None and endpoint.circuit_open_until > now:
        return 0
    if endpoint.consecutive_failures >= settings.WEBHOOKS_BREAKER_THRESHOLD:
        return 1
    return endpoint.max_in_flight or default_cap()


def ensure_slots(*, endpoint_id: str, cap: int | None = None) -> None:
    """Create the endpoint's missing slot rows up to its cap (or the default); extra rows stay unused."""
    if cap is None:
        configured = Endpoint.objects.filter(pk=endpoint_id).values_list("max_in_flight", flat=True).first()
        cap = configured or default_cap()
    existing = set(EndpointSlot.objects.filter(endpoint_id=endpoint_id).values_list("number", flat=True))
    missing = [EndpointSlot(endpoint_id=endpoint_id, number=n) for n in range(cap) if n not in existing]
    if missing:
        EndpointSlot.objects.bulk_create(missing, ignore_conflicts=True)


def instants(now: datetime) -> dict[str, Any]:
    """The named parameters every statement of webhooks/engine/statements.py may use, at `now`."""
    return {
        "now": db_time(now),
        "lease_end": db_time(CLAIM_LEASE.until(now)),
        "renew_before": db_time(CLAIM_LEASE.renew_before(now)),
        "queue_lease_end": db_time(QUEUE_LEASE.until(now)),
        "threshold": int(settings.WEBHOOKS_BREAKER_THRESHOLD),
        "default_cap": default_cap(),
        "own_commit": not connection.in_atomic_block,
    }


def after_failed_claim(*, hint_id: str, now: datetime) -> str | None:
    """Nothing was claimed for `hint_id`: give back a slot queued for it, and say what to try next.

    "ping" when it is a ping (claimed by its own id, without a slot); "retry" when its endpoint
    lacked slot rows (created without them, or its cap was raised) and has them now; else None.
    """
    params: dict[str, Any] = {"delivery_id": hint_id, "default_cap": default_cap()}
    with connection.cursor() as cursor:
        cursor.execute(statements.GIVE_BACK_QUEUED_SLOT, params)
        if cursor.rowcount:  # its endpoint has slots; it was just not this delivery's turn
            return None
        cursor.execute(statements.NAMED_DELIVERY_SLOTS, params)
        row = cursor.fetchone()
    if row is None:
        return None
    is_ping, endpoint_id, cap, slots = row
    if is_ping:
        return "ping"
    if slots >= cap:
        return None
    ensure_slots(endpoint_id=endpoint_id, cap=cap)
    return "retry"


def pass_on(*, slot_id: int, token: str, delivery_id: str, now: datetime) -> str | None:
    """Give the slot to the endpoint's next waiting delivery and return its id (to send a message), or free it."""
    params = {**instants(now), "slot_id": slot_id, "token": token, "delivery_id": delivery_id}
    with connection.cursor() as cursor:
        if uses_postgres_statements():
            cursor.execute(statements.PASS_ON_PG, params)
            row = cursor.fetchone()
            return row[0] or None if row else None
        return pass_on_portable(cursor, params)


def pass_on_portable(cursor: Any, params: dict[str, Any]) -> str | None:
    """The portable twin of the hand-on in PASS_ON_PG and RECORD_AND_PASS_ON_PG."""
    cursor.execute(statements.NEXT_WAITING, params)
    row = cursor.fetchone()
    if row is None:
        cursor.execute(statements.FREE_SLOT, params)
        return None
    cursor.execute(statements.QUEUE_SLOT, {**params, "following": row[0]})
    return row[0] if cursor.rowcount == 1 else None


def turn_set_size() -> int:
    """The most deliveries a set claims (WEBHOOKS_TURN_SET)."""
    return int(settings.WEBHOOKS_TURN_SET)


# Before a receiver's pace is known (the first sets of a message naming many endpoints, each sent
# after the one before it in the same thread), a set claims no more than this.
FIRST_SET_SIZE = 16
# The quickest pace a set size is worked out from: an answer faster than this counts as this fast.
FASTEST_PACE_SECONDS = 0.0002


def first_set_size() -> int:
    return min(turn_set_size(), FIRST_SET_SIZE)


def next_set_size(*, seconds_per_delivery: float, seconds_left: float) -> int:
    """How many a turn's next set claims: as many as the receiver's pace fits in what is left of the
    turn, at least one and at most WEBHOOKS_TURN_SET. A fast receiver gets large sets (fewer
    statements per delivery); a slow one small sets, so its turn still ends on time."""
    fitting = int(seconds_left / max(seconds_per_delivery, FASTEST_PACE_SECONDS))
    return max(1, min(turn_set_size(), fitting))


def claim_set_portable(cursor: Any, params: dict[str, Any]) -> list[str]:
    """The portable twin of the turn's claim in RECORD_SETS_AND_CLAIM_SETS_PG: up to `set_size` of the
    endpoint's next due, unmessaged deliveries taken with the slot's token (their ids, in sequence
    order), or the slot freed (none)."""
    cursor.execute(statements.NEXT_DUE_SET, params)
    ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        cursor.execute(statements.FREE_SLOT, params)
        return []
    cursor.execute(statements.RENEW_SLOT, {**params, "following": ids[0]})
    for delivery_id in ids:
        cursor.execute(statements.TAKE_DELIVERY, {**params, "delivery_id": delivery_id})
    return ids
