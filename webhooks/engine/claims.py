"""Claiming the endpoint's next due delivery for one attempt, and reading what sending it needs, in one round trip.

This is the worker's hot path, so it speaks SQL directly (webhooks/engine/statements.py):
compiling the equivalent ORM queries cost more CPU than everything else a delivery does
(measured: 2.9 of 4.1 ms per delivery), and on a 2-core box CPU is what bounds deliveries per
second. Which delivery may be claimed (in-flight slots, sequence order, the circuit breaker) is
the statements' and webhooks/engine/turns.py's; the rows come back as `rows.Claimed`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction

from skillhub import leases
from skillhub.db import prepared_cursor, uses_postgres_statements
from webhooks.engine import rows, statements, turns
from webhooks.engine.rows import Claimed


def claim_and_load(delivery_id: str, now: datetime) -> Claimed | None:
    """Claim the endpoint's next due delivery (a slot and a lease) and read what sending it needs.

    `delivery_id` names the endpoint; the delivery claimed is its lowest-sequence due one, so
    waiting deliveries start in sequence order. A ping is claimed by its own id, without a slot.
    None when there is nothing to claim: not due, at the cap, held back, or claimed by another worker.
    """
    claimed = _claim_next(delivery_id, now)
    if claimed is not None:
        return claimed
    return _after_nothing_claimed(delivery_id, now)


def claim_many(delivery_ids: list[str], now: datetime) -> list[Claimed | None]:
    """`claim_and_load` for each id (each names its own endpoint), in order; on PostgreSQL all of them
    in one statement (CLAIM_MANY_PG: it skips what is locked, so it waits for no other worker)."""
    if len(delivery_ids) < 2 or not uses_postgres_statements() or connection.in_atomic_block:
        return [claim_and_load(delivery_id, now) for delivery_id in delivery_ids]
    tokens = [leases.new_token() for _ in delivery_ids]
    with prepared_cursor() as cursor:
        cursor.execute(statements.CLAIM_MANY_PG, {**turns.instants(now), "delivery_ids": delivery_ids, "tokens": tokens})
        found = {row["token"]: row for row in rows.named_all(cursor, cursor.fetchall())}
    return [
        rows.claimed(found[token], token=token, slot_id=found[token]["slot_id"])
        if token in found
        else _after_nothing_claimed(delivery_id, now)
        for delivery_id, token in zip(delivery_ids, tokens)
    ]


def _after_nothing_claimed(delivery_id: str, now: datetime) -> Claimed | None:
    """Nothing was claimed for `delivery_id`: claim it as a ping, or again once its endpoint has its slot rows."""
    then = turns.after_failed_claim(hint_id=delivery_id, now=now)
    if then == "retry":
        return _claim_next(delivery_id, now)
    if then == "ping":
        return _claim_ping(delivery_id, now)
    return None


def _claim_next(delivery_id: str, now: datetime) -> Claimed | None:
    token = leases.new_token()
    params = {**turns.instants(now), "delivery_id": delivery_id, "token": token}
    if not uses_postgres_statements():
        return _claim_next_portable(params)
    with prepared_cursor() as cursor:
        cursor.execute(statements.CLAIM_NEXT_PG, params)
        row = rows.named(cursor, cursor.fetchone())
    return rows.claimed(row, token=token, slot_id=row["slot_id"]) if row is not None else None


def _claim_next_portable(params: dict[str, Any]) -> Claimed | None:
    """The twin of CLAIM_NEXT_PG as separate statements in one transaction (SQLite: one writer at a time)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statements.NAMED_ENDPOINT, params)
        endpoint = cursor.fetchone()
        if endpoint is None:
            return None
        params = {**params, "endpoint_id": endpoint[0], "cap": endpoint[1]}
        cursor.execute(statements.OPEN_SLOT, params)
        slot = cursor.fetchone()
        if slot is None:
            return None
        cursor.execute(statements.FIRST_DUE, params)
        first = cursor.fetchone()
        if first is None:
            return None
        taken = {**params, "slot_id": slot[0], "delivery_id": first[0]}
        cursor.execute(statements.TAKE_SLOT, taken)
        cursor.execute(statements.TAKE_DELIVERY, taken)
    return load(first[0], token=params["token"], slot_id=slot[0])


def _claim_ping(delivery_id: str, now: datetime) -> Claimed | None:
    """A ping tests the endpoint now, whatever its slots or circuit say."""
    token = leases.new_token()
    params = {**turns.instants(now), "delivery_id": delivery_id, "token": token}
    if not uses_postgres_statements():
        with connection.cursor() as cursor:
            cursor.execute(statements.CLAIM_PING, params)
            taken = cursor.rowcount == 1
        return load(delivery_id, token=token, slot_id=None) if taken else None
    with prepared_cursor() as cursor:
        cursor.execute(statements.CLAIM_PING_PG, params)
        row = rows.named(cursor, cursor.fetchone())
    return rows.claimed(row, token=token, slot_id=None) if row is not None else None


def load(delivery_id: str | None, *, token: str, slot_id: int | None) -> Claimed | None:
    """Read what sending a delivery just claimed with `token` needs (None for no delivery)."""
    if delivery_id is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(statements.LOAD_CLAIMED, {"delivery_id": delivery_id})
        row = rows.named(cursor, cursor.fetchone())
    return rows.claimed(row, token=token, slot_id=slot_id) if row is not None else None


def release(claimed: Claimed, *, now: datetime) -> str | None:
    """Give a claim back (its endpoint was disabled meanwhile): the delivery stays pending, and the slot
    goes to the endpoint's next waiting delivery, whose id is returned (to send a message), or is freed."""
    claim = claimed.claim
    with connection.cursor() as cursor:
        cursor.execute(statements.RELEASE, {"delivery_id": claim.delivery_id, "token": claim.token})
    if claim.slot_id is None:
        return None
    return turns.pass_on(slot_id=claim.slot_id, token=claim.token, delivery_id=claim.delivery_id, now=now)
