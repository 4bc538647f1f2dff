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
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from skillhub.db import uses_postgres_statements
from webhooks.models import Delivery, Endpoint, EndpointSlot

logger = logging.getLogger("skillhub.webhooks")

_D = Delivery._meta.db_table
_P = Endpoint._meta.db_table
_S = EndpointSlot._meta.db_table

MAX_IN_FLIGHT_LIMIT = 64

# The slots an endpoint has now: none while its circuit is open, one (the probe) once the
# cool-down is over, otherwise its cap. Parameters: now, threshold, default cap (see cap_params).
CAP_SQL = (
    "(CASE WHEN p.circuit_open_until > %s THEN 0 WHEN p.consecutive_failures >= %s THEN 1 "
    "ELSE COALESCE(p.max_in_flight, %s) END)"
)
# A slot anyone may take: free, or held under a lease that ran out. Parameter: now.
FREE_SQL = "(s.state = 'free' OR s.leased_until < %s)"
# A delivery no message is on its way for (no slot is queued for it). Parameter: now. A worker
# handing its slot on, or keeping it for a turn, takes only those: one that has a message is
# sent by that message, and taking it would leave the message to find nothing (a useless message
# in front of every newer one).
UNMESSAGED_SQL = (
    f"NOT EXISTS (SELECT 1 FROM {_S} q WHERE q.endpoint_id = d.endpoint_id AND q.state = 'queued' "
    "AND q.delivery_id = d.id AND q.leased_until >= %s)"
)
# A delivery waiting for its (next) attempt, now due. Parameter: now.
WAITING_SQL = "d.state = 'pending' AND NOT d.is_ping AND d.next_attempt_at <= %s"
# A delivery that is due to be sent. Parameters: now, now.
DUE_SQL = (
    "d.state IN ('pending', 'sending') AND NOT d.is_ping AND ((d.state = 'pending' AND d.next_attempt_at <= %s) "
    "OR (d.state = 'sending' AND d.claimed_until < %s))"
)


def default_cap() -> int:
    return int(settings.WEBHOOKS_MAX_IN_FLIGHT)


def queue_lease() -> timedelta:
    """How long a queued slot waits for its message; then it is free again and the sweep re-sends."""
    return timedelta(seconds=float(settings.WEBHOOKS_QUEUE_LEASE))


def claim_lease() -> timedelta:
    """How long a claim and its slot are held: longer than the longest POST and its recording."""
    return timedelta(seconds=float(settings.WEBHOOKS_CLAIM_LEASE_SECONDS))


def cap_params(now: datetime) -> list[Any]:
    return [db_time(now), int(settings.WEBHOOKS_BREAKER_THRESHOLD), default_cap()]


def db_time(value: datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if value is not None else None


def effective_cap(endpoint: Endpoint, *, now: datetime | None = None) -> int:
    """The slots the endpoint has now (Python twin of CAP_SQL)."""
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


# --- claiming ---------------------------------------------------------------------------------

# The endpoint is named by a scalar subquery, never a join: then PostgreSQL knows it is one
# value and walks `delivery_endpoint_next` in sequence order, stopping at the first due row;
# joined, it sorted the endpoint's whole backlog on every claim (cost growing with the backlog).
_CLAIM_PG = f"""
WITH ep AS (
  SELECT p.id, {CAP_SQL} AS cap FROM {_D} h JOIN {_P} p ON p.id = h.endpoint_id
  WHERE h.id = %s AND p.enabled AND NOT h.is_ping
), free AS (
  SELECT s.id FROM {_S} s JOIN ep ON s.endpoint_id = ep.id
  WHERE s.number < ep.cap AND ({FREE_SQL} OR (s.state = 'queued' AND s.delivery_id = %s))
  ORDER BY (s.state = 'queued' AND s.delivery_id = %s) DESC, s.number LIMIT 1 FOR UPDATE OF s SKIP LOCKED
), pick AS (
  SELECT d.id FROM {_D} d
  WHERE d.endpoint_id = (SELECT id FROM ep) AND EXISTS (SELECT 1 FROM free) AND {DUE_SQL}
  ORDER BY d.sequence LIMIT 1 FOR UPDATE OF d SKIP LOCKED
), slot AS (
  UPDATE {_S} s SET state = 'sending', delivery_id = pick.id, claim_token = %s, leased_until = %s
  FROM free, pick WHERE s.id = free.id RETURNING s.id
)
UPDATE {_D} d SET state = 'sending', claimed_until = %s, claim_token = %s
FROM slot, pick{{joins}}{{async_commit}}
WHERE d.id = pick.id{{join_conditions}}
RETURNING d.id, slot.id, p.consecutive_failures{{columns}}
"""


@dataclass(frozen=True)
class Claim:
    """A delivery claimed for one attempt, with the slot it holds."""

    delivery_id: str
    token: str
    slot_id: int | None
    consecutive_failures: int


def claim_params(hint_id: str, token: str, now: datetime) -> list[Any]:
    until = db_time(now + claim_lease())
    at = db_time(now)
    return [*cap_params(now), hint_id, at, hint_id, hint_id, at, at, token, until, until, token]


def claim_sql(*, joins: str, join_conditions: str, columns: str, async_commit: str) -> str:
    """The one-statement PostgreSQL claim; the caller adds the joins and columns it wants back."""
    return (
        _CLAIM_PG.replace("{joins}", joins)
        .replace("{join_conditions}", join_conditions)
        .replace("{columns}", columns)
        .replace("{async_commit}", async_commit)
    )


def claim_portable(*, hint_id: str, token: str, now: datetime) -> Claim | None:
    """The same claim as separate statements in one transaction (SQLite: one writer at a time)."""
    at = db_time(now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, {CAP_SQL}, p.consecutive_failures FROM {_D} h JOIN {_P} p ON p.id = h.endpoint_id "
            "WHERE h.id = %s AND p.enabled AND NOT h.is_ping",
            [*cap_params(now), hint_id],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        endpoint_id, cap, failures = row
        cursor.execute(
            f"SELECT s.id FROM {_S} s WHERE s.endpoint_id = %s AND s.number < %s "
            f"AND ({FREE_SQL} OR (s.state = 'queued' AND s.delivery_id = %s)) "
            "ORDER BY CASE WHEN s.state = 'queued' AND s.delivery_id = %s THEN 0 ELSE 1 END, s.number LIMIT 1",
            [endpoint_id, cap, at, hint_id, hint_id],
        )
        slot = cursor.fetchone()
        if slot is None:
            return None
        cursor.execute(
            f"SELECT d.id FROM {_D} d WHERE d.endpoint_id = %s AND {DUE_SQL} ORDER BY d.sequence LIMIT 1",
            [endpoint_id, at, at],
        )
        pick = cursor.fetchone()
        if pick is None:
            return None
        until = db_time(now + claim_lease())
        cursor.execute(
            f"UPDATE {_S} SET state = 'sending', delivery_id = %s, claim_token = %s, leased_until = %s WHERE id = %s",
            [pick[0], token, until, slot[0]],
        )
        cursor.execute(
            f"UPDATE {_D} SET state = 'sending', claimed_until = %s, claim_token = %s WHERE id = %s",
            [until, token, pick[0]],
        )
    return Claim(delivery_id=pick[0], token=token, slot_id=slot[0], consecutive_failures=failures)


def new_token() -> str:
    return uuid.uuid4().hex


def after_failed_claim(*, hint_id: str, now: datetime) -> str | None:
    """Nothing was claimed for `hint_id`: give back a slot queued for it, and say what to try next.

    "ping" when it is a ping (claimed by its own id, without a slot); "retry" when its endpoint
    lacked slot rows (created without them, or its cap was raised) and has them now; else None.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_S} SET state = 'free', delivery_id = '', claim_token = '', leased_until = NULL "
            "WHERE delivery_id = %s AND state = 'queued'",
            [hint_id],
        )
        if cursor.rowcount:  # its endpoint has slots; it was just not this delivery's turn
            return None
        cursor.execute(
            f"SELECT h.is_ping, p.id, COALESCE(p.max_in_flight, %s), "
            f"(SELECT count(*) FROM {_S} s WHERE s.endpoint_id = p.id) "
            f"FROM {_D} h JOIN {_P} p ON p.id = h.endpoint_id WHERE h.id = %s",
            [default_cap(), hint_id],
        )
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


# --- after the attempt -------------------------------------------------------------------------

# Hand the slot on to the endpoint's next due delivery (queued, with a message), or free it.
# Parameters (pass_on_params): slot id, token, cap params, now (due), delivery id (not itself),
# now, queue lease, slot id, token. The CTEs and the UPDATE are apart so that recording an attempt can
# prefix its own CTEs and do both in one statement (webhooks/delivery.py). The endpoint is a scalar
# subquery for the reason given at _CLAIM_PG.
PASS_ON_CTES = f"""nxt AS (
  SELECT d.id FROM {_D} d
  WHERE d.endpoint_id = (
      SELECT p.id FROM {_S} s0 JOIN {_P} p ON p.id = s0.endpoint_id
      WHERE s0.id = %s AND s0.claim_token = %s AND p.enabled AND s0.number < {CAP_SQL})
    AND {WAITING_SQL} AND d.id <> %s AND {UNMESSAGED_SQL}
  ORDER BY d.sequence LIMIT 1
), one AS (SELECT 1 AS x)"""
PASS_ON_UPDATE = f"""UPDATE {_S} SET state = CASE WHEN nxt.id IS NULL THEN 'free' ELSE 'queued' END,
  delivery_id = COALESCE(nxt.id, ''), claim_token = '',
  leased_until = CASE WHEN nxt.id IS NULL THEN NULL ELSE %s END
FROM one LEFT JOIN nxt ON true
WHERE {_S}.id = %s AND {_S}.claim_token = %s
RETURNING {_S}.delivery_id"""
_PASS_ON = f"WITH {PASS_ON_CTES} {PASS_ON_UPDATE}"


# Within a turn: the endpoint's next due delivery claimed for the thread that keeps the slot, or
# the slot freed; one statement with recording the attempt, which must come first as a CTE named
# `finish` (nothing is claimed unless the finished delivery was still ours). The claiming UPDATE is
# the caller's, with the joins it reads back; it claims with the slot's own token. The slot row is
# left alone while its lease has more than half to run: every worker of a busy endpoint writes to
# the same page of slot rows, and those writes were what its deliveries waited for.
# Parameters (claim_next_params): slot id, token, cap params, now, now, delivery id (not itself),
# now, lease end, slot id, token, renew before.
CLAIM_NEXT_CTES = f"""ep AS (
  SELECT p.id FROM {_S} s0 JOIN {_P} p ON p.id = s0.endpoint_id
  WHERE s0.id = %s AND s0.claim_token = %s AND p.enabled AND s0.number < {CAP_SQL} AND EXISTS (SELECT 1 FROM finish)
), nxt AS (
  SELECT d.id FROM {_D} d WHERE d.endpoint_id = (SELECT id FROM ep) AND {DUE_SQL} AND d.id <> %s AND {UNMESSAGED_SQL}
  ORDER BY d.sequence LIMIT 1 FOR UPDATE OF d SKIP LOCKED
), one AS (SELECT 1 AS x), slot AS (
  UPDATE {_S} SET state = CASE WHEN nxt.id IS NULL THEN 'free' ELSE 'sending' END,
    delivery_id = COALESCE(nxt.id, ''), claim_token = CASE WHEN nxt.id IS NULL THEN '' ELSE {_S}.claim_token END,
    leased_until = CASE WHEN nxt.id IS NULL THEN NULL ELSE %s END
  FROM one LEFT JOIN nxt ON true
  WHERE {_S}.id = %s AND {_S}.claim_token = %s AND (nxt.id IS NULL OR {_S}.leased_until < %s)
)"""


def claim_next_params(*, slot_id: int, token: str, delivery_id: str, now: datetime) -> list[Any]:
    at, lease = db_time(now), claim_lease()
    lease_end, renew_before = db_time(now + lease), db_time(now + lease / 2)
    return [slot_id, token, *cap_params(now), at, at, delivery_id, at, lease_end, slot_id, token, renew_before]


def pass_on_params(*, slot_id: int, token: str, delivery_id: str, now: datetime) -> list[Any]:
    at = db_time(now)
    return [slot_id, token, *cap_params(now), at, delivery_id, at, db_time(now + queue_lease()), slot_id, token]


# The portable twins: the slot holder's endpoint's next unmessaged delivery matching `due`
# (WAITING_SQL or DUE_SQL), and freeing the slot. Parameters: slot id, token, cap params, the due
# parameters, delivery id (not itself), now.
_NEXT_FOR_SLOT = (
    f"SELECT d.id FROM {_S} s0 JOIN {_P} p ON p.id = s0.endpoint_id JOIN {_D} d ON d.endpoint_id = p.id "
    f"WHERE s0.id = %s AND s0.claim_token = %s AND p.enabled AND s0.number < {CAP_SQL} "
    "AND {due} AND d.id <> %s AND " + UNMESSAGED_SQL + " ORDER BY d.sequence LIMIT 1"
)
_FREE_SLOT = f"UPDATE {_S} SET state = 'free', delivery_id = '', claim_token = '', leased_until = NULL WHERE id = %s AND claim_token = %s"


def pass_on(*, slot_id: int, token: str, delivery_id: str, now: datetime) -> str | None:
    """Give the slot to the endpoint's next due delivery and return its id (to send a message), or free it."""
    params = pass_on_params(slot_id=slot_id, token=token, delivery_id=delivery_id, now=now)
    with connection.cursor() as cursor:
        if uses_postgres_statements():
            cursor.execute(_PASS_ON, params)
            row = cursor.fetchone()
            return row[0] or None if row else None
        cursor.execute(_NEXT_FOR_SLOT.replace("{due}", WAITING_SQL), params[:8])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_FREE_SLOT, [slot_id, token])
            return None
        cursor.execute(
            f"UPDATE {_S} SET state = 'queued', delivery_id = %s, claim_token = '', leased_until = %s "
            "WHERE id = %s AND claim_token = %s",
            [row[0], db_time(now + queue_lease()), slot_id, token],
        )
        return row[0] if cursor.rowcount == 1 else None


def claim_next_portable(*, slot_id: int, token: str, delivery_id: str, now: datetime) -> str | None:
    """The portable twin of CLAIM_NEXT_CTES (after recording the attempt): claim the endpoint's next
    unmessaged due delivery with the slot's token and return it, or free the slot and return None."""
    at = db_time(now)
    lease_end, renew_before = db_time(now + claim_lease()), db_time(now + claim_lease() / 2)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _NEXT_FOR_SLOT.replace("{due}", DUE_SQL), [slot_id, token, *cap_params(now), at, at, delivery_id, at]
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_FREE_SLOT, [slot_id, token])
            return None
        cursor.execute(
            f"UPDATE {_S} SET delivery_id = %s, leased_until = %s WHERE id = %s AND claim_token = %s AND leased_until < %s",
            [row[0], lease_end, slot_id, token, renew_before],
        )
        cursor.execute(
            f"UPDATE {_D} SET state = 'sending', claimed_until = %s, claim_token = %s WHERE id = %s",
            [lease_end, token, row[0]],
        )
    return row[0]
