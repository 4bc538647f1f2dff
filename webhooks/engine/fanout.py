"""Writing an event and its deliveries inside the caller's transaction.

This runs inside every domain write that records an event, while the caller holds the lock on
the endpoints' sequence counters, so it is plain SQL: the ORM's query compilation was most of
its CPU (measured: 2.0 of 2.5 ms per event), and CPU spent here lengthens the time the lock is
held. The SQL runs unchanged on PostgreSQL and SQLite, with names taken from the models.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Mapping, Sequence

from django.db import connection
from django.utils import timezone

from tenants.models import Tenant
from webhooks.engine import statements, turns, wake
from webhooks.models import (
    Delivery,
    DeliveryState,
    Endpoint,
    Event,
    new_delivery_id,
    new_event_id,
)
from skillhub.db import insert_rows, prepared_cursor, uses_postgres_statements

_E = Event._meta.db_table
_P = Endpoint._meta.db_table
_D = Delivery._meta.db_table
_DATA = Event._meta.get_field("data")
_EVENTS = Endpoint._meta.get_field("events")
_EVENT_COLUMNS = ("id", "tenant_id", "type", "data", "subject_type", "subject_id", "created_at")
_EVENT_PARAMS = ("event_id", "tenant_id", "event_type", "data", "subject_type", "subject_id", "created_at")
_DELIVERY_COLUMNS = (
    "id, tenant_id, event_id, endpoint_id, event_type, sequence, state, attempt_count, next_attempt_at, "
    "claim_token, enqueued_at, is_ping, last_error, created_at, updated_at"
)
_INSERT_BATCH = 500


def _tenant_key(tenant_id: uuid.UUID) -> Any:
    return Tenant._meta.pk.get_db_prep_value(tenant_id, connection)


def _new_event(
    *, tenant_id: uuid.UUID, event_type: str, data: Mapping[str, Any], subject_type: str, subject_id: str
) -> tuple[Event, dict[str, Any]]:
    event = Event(
        id=new_event_id(),
        tenant_id=tenant_id,
        type=event_type,
        data=data,
        subject_type=subject_type,
        subject_id=subject_id,
        created_at=timezone.now(),
    )
    event._state.adding = False
    params = {
        "event_id": event.id,
        "tenant_id": _tenant_key(tenant_id),
        "event_type": event_type,
        "data": _DATA.get_db_prep_save(data, connection),
        "subject_type": subject_type,
        "subject_id": subject_id,
        "created_at": connection.ops.adapt_datetimefield_value(event.created_at),
    }
    return event, params


def insert_event(*, tenant_id: uuid.UUID, event_type: str, data: Mapping[str, Any], subject_type: str, subject_id: str) -> Event:
    """Insert one event row and return it."""
    event, params = _new_event(
        tenant_id=tenant_id, event_type=event_type, data=data, subject_type=subject_type, subject_id=subject_id
    )
    with connection.cursor() as cursor:
        cursor.execute(statements.INSERT_EVENT, params)
    return event


def record(
    *, tenant_id: uuid.UUID, event_type: str, data: Mapping[str, Any], subject_type: str, subject_id: str
) -> tuple[Event, list[str]]:
    """Write an event and one delivery per enabled endpoint whose filter takes it.

    Returns the event and the deliveries to send a message for: those for which a free in-flight
    slot of their endpoint was reserved; the others wait for their endpoint's turn (webhooks/flow.py).
    On PostgreSQL this is two statements whatever the number of endpoints (up to 500): one inserts
    the event and finds the matching endpoints, one locks, numbers and inserts their deliveries.
    """
    if not uses_postgres_statements():
        event = insert_event(
            tenant_id=tenant_id, event_type=event_type, data=data, subject_type=subject_type, subject_id=subject_id
        )
        created = create_deliveries(event=event, endpoint_ids=matching_endpoints(event=event))
        return event, wake.deliveries_to_wake(created)
    event, event_params = _new_event(
        tenant_id=tenant_id, event_type=event_type, data=data, subject_type=subject_type, subject_id=subject_id
    )
    with prepared_cursor() as cursor:
        cursor.execute(statements.EVENT_AND_ENDPOINTS_PG, {**event_params, "event_types": json.dumps([event_type])})
        candidates = [row[0] for row in cursor.fetchall()]
        delivery_ids: list[str] = []
        for start in range(0, len(candidates), _INSERT_BATCH):
            delivery_ids += _insert_numbered(cursor, event, candidates[start : start + _INSERT_BATCH])
    return event, delivery_ids


def record_many(
    *, tenant_id: uuid.UUID, event_type: str, items: Sequence[tuple[Mapping[str, Any], str, str]]
) -> tuple[list[Event], list[str]]:
    """Write several events of one type, each (data, subject_type, subject_id), and their deliveries.

    The rows are those of calling `record` once per item in order (each endpoint's sequence numbers
    follow the items' order), in a fixed number of statements: the events in one COPY (on SQLite one
    statement run per row), the matching endpoints in one query, their sequences raised by the count
    under one lock, and the deliveries in multi-row inserts.
    """
    events: list[Event] = []
    rows: list[list[Any]] = []
    for data, subject_type, subject_id in items:
        event, params = _new_event(
            tenant_id=tenant_id, event_type=event_type, data=data, subject_type=subject_type, subject_id=subject_id
        )
        events.append(event)
        rows.append([params[column] for column in _EVENT_PARAMS])
    if not events:
        return [], []
    insert_rows(_E, _EVENT_COLUMNS, rows)
    endpoint_ids = matching_endpoints(event=events[0])
    if not endpoint_ids:
        return events, []
    last = _raise_sequences(sorted(endpoint_ids), by=len(events))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    tenant_key = _tenant_key(tenant_id)
    deliveries = [
        (new_delivery_id(), tenant_key, event.id, pk, event.type, top - len(events) + 1 + index, DeliveryState.PENDING,
         0, now, "", None, False, "", now, now)
        for index, event in enumerate(events)
        for pk, top in last
    ]  # fmt: skip
    with connection.cursor() as cursor:
        _insert_deliveries(cursor, deliveries)
    # Messages only for the deliveries a free in-flight slot was reserved for (webhooks/flow.py).
    return events, wake.deliveries_to_wake([row[0] for row in deliveries], endpoints={row[0]: row[3] for row in deliveries})


def _raise_sequences(endpoint_ids: list[str], *, by: int, only_enabled: bool = True) -> list[tuple[str, int]]:
    """Raise each (enabled) endpoint's sequence by `by` and return (id, new sequence); locks those rows in id order."""
    placeholders = ", ".join(["%s"] * len(endpoint_ids))
    enabled = " AND enabled" if only_enabled else ""
    with connection.cursor() as cursor:
        if uses_postgres_statements():
            # Locked in id order first, so concurrent fan-outs to the same endpoints queue instead of deadlocking.
            cursor.execute(
                f"UPDATE {_P} SET sequence = sequence + %s WHERE id IN "
                f"(SELECT id FROM {_P} WHERE id IN ({placeholders}){enabled} ORDER BY id FOR UPDATE) "
                "RETURNING id, sequence",
                [by, *endpoint_ids],
            )
            return sorted(cursor.fetchall())
        # SQLite has one writer at a time: between these two statements nobody else can write.
        cursor.execute(f"UPDATE {_P} SET sequence = sequence + %s WHERE id IN ({placeholders}){enabled}", [by, *endpoint_ids])
        cursor.execute(f"SELECT id, sequence FROM {_P} WHERE id IN ({placeholders}){enabled} ORDER BY id", list(endpoint_ids))
        return list(cursor.fetchall())


def _insert_numbered(cursor: Any, event: Event, endpoint_ids: list[str]) -> list[str]:
    """Lock, number and insert the deliveries and reserve their slots in one statement (NUMBER_DELIVERIES_PG).

    Returns the deliveries to send a message for: those a free in-flight slot of their endpoint was
    reserved for, so an endpoint never has more messages on their way than slots; the others wait
    their turn (webhooks/engine/turns.py).
    """
    delivery_ids = [new_delivery_id() for _ in endpoint_ids]
    params = {
        **turns.instants(timezone.now()),
        "endpoint_ids": endpoint_ids,
        "delivery_ids": delivery_ids,
        "tenant_id": _tenant_key(event.tenant_id),
        "event_id": event.id,
        "event_type": event.type,
    }
    cursor.execute(statements.NUMBER_DELIVERIES_PG, params)
    woken = {row[0] for row in cursor.fetchall() if row[1]}
    return [delivery_id for delivery_id in delivery_ids if delivery_id in woken]


def matching_endpoints(*, event: Event) -> list[str]:
    """Return the ids of the tenant's enabled endpoints whose filter takes this event type."""
    with connection.cursor() as cursor:
        cursor.execute(statements.ENABLED_ENDPOINTS, {"tenant_id": _tenant_key(event.tenant_id)})
        rows = cursor.fetchall()
    matching = []
    for pk, events in rows:
        wanted = _EVENTS.from_db_value(events, None, connection)  # type: ignore[arg-type]  # no expression: a raw row
        if not wanted or event.type in wanted:
            matching.append(pk)
    return matching


def create_deliveries(*, event: Event, endpoint_ids: list[str], is_ping: bool = False) -> list[str]:
    """Create one pending delivery per endpoint, each with that endpoint's next sequence number.

    Endpoints disabled meanwhile are skipped, except for a ping, which may test a disabled endpoint.
    """
    if not endpoint_ids:
        return []
    sequences = _raise_sequences(sorted(endpoint_ids), by=1, only_enabled=not is_ping)
    rows = _delivery_rows(event=event, sequences=sequences, is_ping=is_ping)
    with connection.cursor() as cursor:
        _insert_deliveries(cursor, rows)
    return [row[0] for row in rows]


def _delivery_rows(*, event: Event, sequences: list[tuple[str, int]], is_ping: bool) -> list[tuple[Any, ...]]:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    tenant_key = _tenant_key(event.tenant_id)
    return [
        (new_delivery_id(), tenant_key, event.id, pk, event.type, sequence, DeliveryState.PENDING, 0, now, "", None,
         is_ping, "", now, now)
        for pk, sequence in sequences
    ]  # fmt: skip


def _placeholders(count: int) -> str:
    return ", ".join(["(" + ", ".join(["%s"] * 15) + ")"] * count)


def _insert_deliveries(cursor: Any, rows: list[tuple[Any, ...]]) -> None:
    for start in range(0, len(rows), _INSERT_BATCH):
        batch = rows[start : start + _INSERT_BATCH]
        cursor.execute(
            f"INSERT INTO {_D} ({_DELIVERY_COLUMNS}) VALUES {_placeholders(len(batch))}",
            [value for row in batch for value in row],
        )
