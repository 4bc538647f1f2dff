"""Removing expired outbound history in small batches: attempts, finished deliveries and their events.

Each batch is one short statement (PostgreSQL: rows taken with FOR UPDATE SKIP LOCKED, so sweeps
running at once on several machines share the work and remove each row once). Only finished
deliveries and their attempts go; a delivery still pending or being sent stays, however old.
Rows are found through indexes bounded by time (ids are time-ordered; attempt ids grow with time),
so a batch costs the same however much history there is.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any, Sequence

from django.db import IntegrityError, connection, transaction

from skillhub.db import uses_postgres_statements
from skillhub.ids import prefixed_floor
from tenants.models import Tenant
from tenants.retention import remover
from webhooks import health, partitions
from skillhub.db import db_time
from webhooks.models import Attempt, Delivery, DeliveryState, Event

logger = logging.getLogger("skillhub.retention")

_A = Attempt._meta.db_table
_D = Delivery._meta.db_table
_E = Event._meta.db_table
_FINISHED = (DeliveryState.SUCCEEDED.value, DeliveryState.FAILED.value)
_UNFINISHED = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)
# Events outlive their deliveries' cutoff by this much: deliveries are made within seconds of their
# event, so none is left that still needs the event.
EVENT_GRACE = timedelta(days=1)


def _tenant_keys(tenant_ids: Sequence[Any]) -> list[Any]:
    field = Tenant._meta.pk
    assert field is not None
    return [field.get_db_prep_value(tenant_id, connection) for tenant_id in tenant_ids]


def _in(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _lock() -> str:
    return " FOR UPDATE SKIP LOCKED" if uses_postgres_statements() else ""


def _last_attempt_before(cutoff: datetime) -> int:
    """The largest attempt id started before `cutoff` (0 if none), by binary search over the primary key.

    Attempt ids grow with time, so the ids to look at end here; each probe is one index lookup.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {_A}")
        low, high = cursor.fetchone() or (None, None)
        if low is None:
            return 0
        probe = f"SELECT started_at FROM {_A} WHERE id >= %s ORDER BY id LIMIT 1"
        cursor.execute(probe, [low])
        first = cursor.fetchone()
        if first is None or not _before(first[0], cutoff):
            return 0
        best = low
        while low <= high:
            middle = (low + high) // 2
            cursor.execute(f"SELECT id, started_at FROM {_A} WHERE id >= %s ORDER BY id LIMIT 1", [middle])
            row = cursor.fetchone()
            if row is None:
                high = middle - 1
            elif _before(row[1], cutoff):
                best, low = max(best, row[0]), row[0] + 1
            else:
                high = middle - 1
        return best


def _before(value: Any, cutoff: datetime) -> bool:
    # SQLite may answer text or a naive UTC datetime, PostgreSQL an aware one.
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_timezone.utc)
    return bool(moment < cutoff)


def drop_attempt_partitions(*, before: datetime) -> int:
    """Drop the partitions of attempts that are all past `before` (the oldest cutoff of every policy); return rows removed."""
    if not partitions.is_partitioned():
        return 0
    removed = partitions.drop_expired_partitions(upto_id=_last_attempt_before(before), unfinished_states=_UNFINISHED)
    partitions.ensure_partitions()
    return removed


@remover("attempts", field="attempts_days", order=30, prune=drop_attempt_partitions)
def remove_attempts(*, tenant_ids: Sequence[Any], before: datetime, batch: int = 5000, every_tenant: bool = False) -> int:
    """Remove the attempts of these tenants' finished deliveries started before `before`; return how many.

    With `every_tenant` (the policy group is every tenant there is) no attempt needs its delivery's
    tenant: the unfinished deliveries (a small set, on a partial index) are set aside once per
    batch instead of joining each attempt to its delivery.
    """
    if not tenant_ids:
        return 0
    upto = _last_attempt_before(before)
    keys = _tenant_keys(tenant_ids)
    lock = " FOR UPDATE OF a SKIP LOCKED" if uses_postgres_statements() else ""
    if every_tenant:
        select = (
            # NOT EXISTS, not NOT IN: an anti-join whatever the size of the backlog.
            f"SELECT a.id FROM {_A} a WHERE a.id > %s AND a.id <= %s AND a.started_at < %s AND NOT EXISTS "
            f"(SELECT 1 FROM {_D} d WHERE d.id = a.delivery_id AND d.state IN (%s, %s)) ORDER BY a.id LIMIT %s{lock}"
        )
        params = [db_time(before), *_UNFINISHED]
    else:
        select = (
            f"SELECT a.id FROM {_A} a JOIN {_D} d ON d.id = a.delivery_id "
            f"WHERE a.id > %s AND a.id <= %s AND a.started_at < %s AND d.tenant_id IN ({_in(keys)}) "
            f"AND d.state IN (%s, %s) ORDER BY a.id LIMIT %s{lock}"
        )
        params = [db_time(before), *keys, *_FINISHED]
    statement = f"DELETE FROM {_A} WHERE id IN ({select}) RETURNING id"
    total, after = 0, 0
    while after < upto:
        with connection.cursor() as cursor:
            cursor.execute(statement, [after, upto, *params, batch])
            removed = [row[0] for row in cursor.fetchall()]
        total += len(removed)
        if len(removed) < batch:
            break
        after = max(removed)
    return total


@remover("deliveries", field="deliveries_days", order=10)
def remove_deliveries(*, tenant_ids: Sequence[Any], before: datetime, batch: int = 2000, every_tenant: bool = False) -> int:
    """Remove these tenants' finished deliveries made before `before`, with their attempts; return how many."""
    if not tenant_ids:
        return 0
    keys = _tenant_keys(tenant_ids)
    bound = prefixed_floor("dlv", before)
    select = (
        f"SELECT id FROM {_D} WHERE tenant_id IN ({_in(keys)}) AND id > %s AND id < %s AND state IN (%s, %s) "
        f"ORDER BY id LIMIT %s{_lock()}"
    )
    total, after = 0, ""
    while True:
        params = [*keys, after, bound, *_FINISHED, batch]
        if uses_postgres_statements():
            sql = (
                f"WITH doomed AS ({select}), gone AS (DELETE FROM {_A} WHERE delivery_id IN (SELECT id FROM doomed)) "
                f"DELETE FROM {_D} WHERE id IN (SELECT id FROM doomed) AND state IN (%s, %s) RETURNING id"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*params, *_FINISHED])
                removed = [row[0] for row in cursor.fetchall()]
            picked = len(removed)
        else:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select, params)
                ids = [row[0] for row in cursor.fetchall()]
                picked = len(ids)
                removed = []
                if ids:
                    cursor.execute(f"DELETE FROM {_A} WHERE delivery_id IN ({_in(ids)})", ids)
                    cursor.execute(f"DELETE FROM {_D} WHERE id IN ({_in(ids)}) AND state IN (%s, %s) RETURNING id", [*ids, *_FINISHED])
                    removed = [row[0] for row in cursor.fetchall()]
        total += len(removed)
        if picked < batch or not removed:
            break
        after = max(removed)
    return total


@remover("events", field="deliveries_days", order=20)
def remove_events(*, tenant_ids: Sequence[Any], before: datetime, batch: int = 2000, every_tenant: bool = False) -> int:
    """Remove these tenants' events made before `before` (less a day) that no delivery refers to any more.

    Call it after `remove_deliveries` with the same cutoff: then the deliveries left between an old
    event and the cutoff are the few unfinished ones, and checking them is a short index range.
    """
    if not tenant_ids:
        return 0
    keys = _tenant_keys(tenant_ids)
    bound = prefixed_floor("evt", before - EVENT_GRACE)
    select = (
        f"SELECT e.id FROM {_E} e WHERE e.tenant_id IN ({_in(keys)}) AND e.id > %s AND e.id < %s "
        f"AND NOT EXISTS (SELECT 1 FROM {_D} d WHERE d.tenant_id = e.tenant_id AND d.id >= 'dlv_' || substr(e.id, 5) "
        f"AND d.id < %s AND d.event_id = e.id) ORDER BY e.id LIMIT %s"
    )
    total, after = 0, ""
    while True:
        with connection.cursor() as cursor:
            cursor.execute(select, [*keys, after, bound, prefixed_floor("dlv", before), batch])
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return total
        total += _delete_events(ids)
        if len(ids) < batch:
            return total
        after = max(ids)


def _delete_events(ids: list[str]) -> int:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_E} WHERE id IN ({_in(ids)})", ids)
            return cursor.rowcount
    except IntegrityError:
        # A delivery made long after its event (a fan-out that lagged past the cutoff) still refers
        # to one of them: remove the others one by one and keep that one.
        removed = 0
        for event_id in ids:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {_E} WHERE id = %s", [event_id])
                    removed += cursor.rowcount
            except IntegrityError:
                logger.info("retention: event %s is still referred to by a delivery; kept", event_id)
        return removed


@remover("endpoint_hours", field=None, order=90, keep=timedelta(days=2))
def remove_endpoint_hours(*, before: datetime) -> int:
    """The hourly buckets behind the endpoint charts are needed for a day; older ones go."""
    return health.prune_hours(before=before)
