"""A worker's turn, a set at a time: the attempts of a set recorded together, the next set claimed together.

Within a turn (webhooks/engine/delivery.py) the thread holding one of the endpoint's slots sends
the deliveries it claimed one after another on its keep-alive connection, then records them all
and claims up to WEBHOOKS_TURN_SET of the endpoint's next due deliveries in one round trip
(RECORD_SETS_AND_CLAIM_SETS_PG), instead of one statement per delivery. When the turn ends the set
is recorded and the slot handed on (RECORD_SET_AND_PASS_ON_PG). A set never widens the in-flight
cap: one slot, one thread, one request at a time; and it is claimed in sequence order.

A delivery claimed but not sent (its set stopped at a receiver that did not answer) is given back
first (`give_back`), so the next claim finds it again, still in sequence order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from skillhub.db import prepared_cursor, uses_postgres_statements
from webhooks import health
from webhooks.engine import claims, rows, statements, transport, turns
from webhooks.engine.record import (
    AttemptRow, NextStep, attempt_of, attempt_params, attempt_values, next_step, note_dropped, note_recorded,
)  # fmt: skip
from webhooks.engine.rows import Claimed


@dataclass(frozen=True)
class Sent:
    """A delivery of the set and the receiver's answer."""

    claimed: Claimed
    result: transport.HttpResult
    started_at: datetime


@dataclass(frozen=True)
class SetRecorded:
    """What recording a set leaves: the next set claimed for this thread (within a turn), or the delivery
    the slot now waits for (to send a message for) when the turn ended."""

    claimed: list[Claimed]
    following: str | None = None


@dataclass(frozen=True, slots=True)
class _Row:
    sent: Sent
    attempt: AttemptRow
    step: NextStep


def record_set(
    sent: list[Sent],
    *,
    now: datetime,
    keep_turn: bool,
    health_notes: list[health.AttemptNote] | None = None,
    set_size: int | None = None,
) -> SetRecorded:
    """Record the attempts of a set sent under one slot; claim the next set of up to `set_size` (default
    `turns.turn_set_size()`) while keeping the turn (`keep_turn`), or hand the slot on."""
    rows_, params = _rows_and_params(sent, now, set_size or turns.turn_set_size())
    if uses_postgres_statements() and not any(row.step.disable_reason for row in rows_):
        finished, recorded = _write_one_statement(rows_, params, now, keep_turn=keep_turn)
        _note(rows_, finished, now, health_notes)
        return recorded
    # Several statements (or disabling the endpoint): one transaction.
    with transaction.atomic():
        finished, recorded = _write_portable(rows_, params, now, keep_turn=keep_turn)
        _note(rows_, finished, now, health_notes)
    return recorded


def record_sets_keeping_turns(
    sets: list[list[Sent]], *, now: datetime, health_notes: list[health.AttemptNote]
) -> list[SetRecorded] | None:
    """`record_set(…, keep_turn=True)` for sets of different slots, in one statement on PostgreSQL
    (RECORD_SETS_AND_CLAIM_SETS_PG), each slot's next set no larger than `turns.first_set_size()`.

    None (nothing written) where that does not apply: the portable twins run, or an answer disables
    its endpoint; the caller then records each set alone. Raises, having written nothing, when the
    statement fails.
    """
    if len(sets) < 2 or not uses_postgres_statements() or connection.in_atomic_block:
        return None
    prepared = [_rows_and_params(sent, now, turns.first_set_size()) for sent in sets]
    if any(row.step.disable_reason for rows_, _ in prepared for row in rows_):
        return None
    every_row = [row for rows_, _ in prepared for row in rows_]
    params = {**prepared[0][1], **_sent_params(every_row, now)}
    with prepared_cursor() as cursor:
        cursor.execute(statements.RECORD_SETS_AND_CLAIM_SETS_PG, params)
        found = rows.named_all(cursor, cursor.fetchall())
    finished = set(found[0]["finished_ids"] or ()) if found else set()
    next_sets: dict[int, list[dict[str, Any]]] = {}
    for row in found:
        if row.get("delivery_id"):
            next_sets.setdefault(row["turn_slot_id"], []).append(row)
    recorded = []
    for rows_, set_params in prepared:
        token, slot_id = set_params["token"], set_params["slot_id"]
        _note(rows_, finished, now, health_notes)
        recorded.append(SetRecorded(rows.claimed_set(next_sets.get(slot_id, []), token=token, slot_id=slot_id)))
    return recorded


def _rows_and_params(sent: list[Sent], now: datetime, set_size: int) -> tuple[list[_Row], dict[str, Any]]:
    """Each sent delivery's attempt and next step, and the parameters every set statement shares."""
    instants = turns.instants(now)
    rows_ = []
    for one in sent:
        attempt = attempt_of(one.claimed, one.result, started_at=one.started_at)
        rows_.append(_Row(one, attempt, next_step(one.claimed, one.result, number=attempt.number, now=now)))
    claim = sent[0].claimed.claim
    params = {
        **instants,
        "slot_id": claim.slot_id,
        "token": claim.token,
        "delivery_id": sent[-1].claimed.delivery.pk,
        "set_size": set_size,
        "updated_at": turns.db_time(timezone.now()),
    }
    return rows_, params


def _sent_params(rows_: list[_Row], now: datetime) -> dict[str, Any]:
    return {"sent": _sent_json(rows_, now), "sent_ids": [row.attempt.delivery_id for row in rows_]}


def give_back(claimed: list[Claimed]) -> None:
    """Give back deliveries claimed for a set but not sent: pending again, due as they were."""
    with connection.cursor() as cursor:
        for one in claimed:
            cursor.execute(statements.RELEASE, {"delivery_id": one.claim.delivery_id, "token": one.claim.token})


def _note(rows_: list[_Row], finished: set[str], now: datetime, health_notes: list[health.AttemptNote] | None) -> None:
    for row in rows_:
        if row.attempt.delivery_id in finished:
            note_recorded(row.sent.claimed, row.attempt, row.step, now, health_notes)
        else:
            note_dropped(row.sent.claimed)


def _sent_json(rows_: list[_Row], now: datetime) -> str:
    """The `sent` array of the set statements: each delivery's `attempt_values`, with the slot and token it
    was sent under (several slots' sets may be recorded together), as `sent AS (…)` names them.

    orjson writes aware datetimes as ISO 8601, which the statement reads as timestamptz; the answer's
    headers go in as the object they are (read as jsonb).
    """
    return orjson.dumps([attempt_values(row.sent.claimed, row.attempt, row.step, now) for row in rows_]).decode()


def _write_one_statement(
    rows_: list[_Row], params: dict[str, Any], now: datetime, *, keep_turn: bool
) -> tuple[set[str], SetRecorded]:
    """PostgreSQL: the set recorded, and the next set claimed or the slot handed on, in one statement."""
    params = {**params, **_sent_params(rows_, now)}
    with prepared_cursor() as cursor:
        if not keep_turn:
            cursor.execute(statements.RECORD_SET_AND_PASS_ON_PG, params)
            row = rows.named(cursor, cursor.fetchone()) or {}
            return set(row.get("finished_ids") or ()), SetRecorded([], row.get("following") or None)
        cursor.execute(statements.RECORD_SETS_AND_CLAIM_SETS_PG, params)
        found = rows.named_all(cursor, cursor.fetchall())
    token, slot_id = params["token"], params["slot_id"]
    claimed = rows.claimed_set(found, token=token, slot_id=slot_id)
    return set(found[0].get("finished_ids") or ()) if found else set(), SetRecorded(claimed)


def _write_portable(
    rows_: list[_Row], params: dict[str, Any], now: datetime, *, keep_turn: bool
) -> tuple[set[str], SetRecorded]:
    """The portable twins, in the caller's transaction."""
    finished: set[str] = set()
    instants = turns.instants(now)
    with connection.cursor() as cursor:
        for row in rows_:
            row_params = attempt_params(row.sent.claimed, row.attempt, row.step, now, instants=instants)
            cursor.execute(statements.FINISH, row_params)
            if cursor.rowcount == 1:
                cursor.execute(statements.INSERT_ATTEMPT, row_params)
                finished.add(row.attempt.delivery_id)
        if not keep_turn:
            return finished, SetRecorded([], turns.pass_on_portable(cursor, params))
        if not finished:
            cursor.execute(statements.FREE_SLOT, params)
            return finished, SetRecorded([])
        ids = turns.claim_set_portable(cursor, params)
    token, slot_id = params["token"], params["slot_id"]
    # The one step back into claims: reading what the set just claimed.
    loaded = [claims.load(delivery_id, token=token, slot_id=slot_id) for delivery_id in ids]
    return finished, SetRecorded([one for one in loaded if one is not None])
