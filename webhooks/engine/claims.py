"""Claiming a due delivery for one attempt, and reading what sending it needs, in one round trip.

This is the worker's hot path, so it speaks SQL directly: compiling the equivalent ORM queries
cost more CPU than everything else a delivery does (measured: 2.9 of 4.1 ms per delivery),
and on a 2-core box CPU is what bounds deliveries per second. The SQL is plain enough to run
unchanged on PostgreSQL and SQLite; table and column names come from the models. Which delivery
may be claimed (in-flight slots, sequence order, the circuit breaker) is webhooks/flow.py's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db import connection
from django.utils import timezone

from skillhub.db import uses_postgres_statements, prepared_cursor
from tenants.models import Tenant
from webhooks.engine import turns as flow
from webhooks.engine.turns import db_time
from webhooks.models import Delivery, DeliveryState, Endpoint, Event

_D = Delivery._meta.db_table
_E = Event._meta.db_table
_P = Endpoint._meta.db_table
_T = Tenant._meta.db_table
_DATA = Event._meta.get_field("data")

Context = tuple[Delivery, Endpoint, Event, str]
Claimed = tuple[flow.Claim, Context]

COLUMNS = (
    "d.sequence, d.attempt_count, d.is_ping, d.tenant_id, "
    "e.id, e.type, e.data, e.subject_type, e.subject_id, e.created_at, "
    "p.id, p.url, p.enabled, p.secret, p.previous_secret, p.previous_secret_expires_at, "
    "p.basic_auth_username, p.basic_auth_password, p.additional_headers, p.payload_style, "
    "p.retry_policy, p.send_secret_header, t.slug"
)
_CLAIM = (
    f"UPDATE {_D} SET state = %s, claimed_until = %s, claim_token = %s "
    f"WHERE id = %s AND ((state = %s AND next_attempt_at <= %s) OR (state = %s AND claimed_until < %s))"
)
RELEASE = f"UPDATE {_D} SET state = %s, claimed_until = NULL, claim_token = '' WHERE id = %s AND claim_token = %s"
_ONE_DELIVERY = (
    f"FROM {_D} d JOIN {_E} e ON e.id = d.event_id JOIN {_P} p ON p.id = d.endpoint_id "
    f"JOIN {_T} t ON t.id = d.tenant_id WHERE d.id = %s"
)
_LOAD = f"SELECT {COLUMNS} {_ONE_DELIVERY}"
# PostgreSQL: claim and read the context in one round trip (UPDATE … FROM locks only the delivery).
# Each of these autocommitted statements commits asynchronously (`set_config(…, true)` is SET LOCAL
# for its own transaction): a database crash may forget the last fraction of a second of claims
# and attempts, which only means a delivery is sent again with the same webhook-id (at least once
# is the contract). The disabling path and everything a caller records stay synchronous.
_ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
_CLAIM_AND_LOAD_PG = (
    f"UPDATE {_D} d SET state = %s, claimed_until = %s, claim_token = %s FROM {_E} e, {_P} p, {_T} t{{async_commit}} "
    "WHERE d.id = %s AND d.is_ping AND ((d.state = %s AND d.next_attempt_at <= %s) OR (d.state = %s AND d.claimed_until < %s)) "
    f"AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id RETURNING {COLUMNS}"
)


def own_commit(sql: str, *, joined: bool) -> str:
    """Let `sql` commit asynchronously, but only as its own transaction, never inside a caller's."""
    if connection.in_atomic_block:
        return sql.replace("{async_commit}", "")
    return sql.replace("{async_commit}", f", {_ASYNC_COMMIT}" if joined else f" FROM {_ASYNC_COMMIT}")


def _aware(value: Any) -> datetime | None:
    # SQLite hands back naive UTC datetimes (or text); PostgreSQL aware ones.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return timezone.make_aware(value, dt_timezone.utc) if timezone.is_naive(value) else value


def _json(value: Any) -> Any:
    return _DATA.from_db_value(value, None, connection)  # type: ignore[arg-type]  # no expression: a raw row


def claim(*, delivery_id: str, now: datetime, ping: bool = False) -> str | None:
    """Claim this due delivery for one attempt (a lease, no slot); return the claim token, or None when not ours."""
    token = uuid.uuid4().hex
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM + (" AND is_ping" if ping else ""), _claim_params(delivery_id, token, now))
        return token if cursor.rowcount == 1 else None


def _claim_params(delivery_id: str, token: str, now: datetime) -> list[Any]:
    return [
        DeliveryState.SENDING,
        db_time(now + flow.claim_lease()),
        token,
        delivery_id,
        DeliveryState.PENDING,
        db_time(now),
        DeliveryState.SENDING,
        db_time(now),
    ]


def claim_and_load(delivery_id: str, now: datetime) -> Claimed | None:
    """Claim the endpoint's next due delivery (a slot and a lease) and read what sending it needs.

    `delivery_id` names the endpoint; the delivery claimed is its lowest-sequence due one, so
    waiting deliveries start in sequence order. A ping is claimed by its own id, without a slot.
    """
    claimed = _claim_next(delivery_id, now)
    if claimed is not None:
        return claimed
    then = flow.after_failed_claim(hint_id=delivery_id, now=now)
    if then == "retry":
        return _claim_next(delivery_id, now)
    if then == "ping":
        return _claim_ping(delivery_id, now)
    return None


def _claim_next(delivery_id: str, now: datetime) -> Claimed | None:
    token = flow.new_token()
    if not uses_postgres_statements():
        claim = flow.claim_portable(hint_id=delivery_id, token=token, now=now)
        if claim is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute(_LOAD, [claim.delivery_id])
            row = cursor.fetchone()
        return (claim, context(claim.delivery_id, row)) if row is not None else None
    async_commit = "" if connection.in_atomic_block else f", {_ASYNC_COMMIT}"
    sql = flow.claim_sql(
        joins=f", {_E} e, {_P} p, {_T} t",
        join_conditions=" AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id",
        columns=", " + COLUMNS,
        async_commit=async_commit,
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, flow.claim_params(delivery_id, token, now))
        row = cursor.fetchone()
    if row is None:
        return None
    claim = flow.Claim(delivery_id=row[0], token=token, slot_id=row[1], consecutive_failures=row[2])
    return claim, context(row[0], row[3:])


def _claim_ping(delivery_id: str, now: datetime) -> Claimed | None:
    """A ping tests the endpoint now, whatever its slots or circuit say."""
    if not uses_postgres_statements():
        token = claim(delivery_id=delivery_id, now=now, ping=True)
        if token is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute(_LOAD, [delivery_id])
            row = cursor.fetchone()
    else:
        token = uuid.uuid4().hex
        with prepared_cursor() as cursor:
            cursor.execute(own_commit(_CLAIM_AND_LOAD_PG, joined=True), _claim_params(delivery_id, token, now))
            row = cursor.fetchone()
    if row is None:
        return None
    return flow.Claim(delivery_id=delivery_id, token=token, slot_id=None, consecutive_failures=0), context(delivery_id, row)


def context(delivery_id: str, row: tuple[Any, ...]) -> Context:
    (
        sequence,
        attempt_count,
        is_ping,
        tenant_id,
        event_id,
        event_type,
        data,
        subject_type,
        subject_id,
        created_at,
        endpoint_id,
        url,
        enabled,
        secret,
        previous_secret,
        previous_expires,
        basic_user,
        basic_password,
        extra_headers,
        payload_style,
        retry_policy,
        send_secret_header,
        slug,
    ) = row
    tenant_id = uuid.UUID(str(tenant_id))
    event = Event(
        id=event_id,
        tenant_id=tenant_id,
        type=event_type,
        data=_json(data),
        subject_type=subject_type,
        subject_id=subject_id,
        created_at=_aware(created_at) or timezone.now(),  # never null in the table
    )
    endpoint = Endpoint(
        id=endpoint_id,
        tenant_id=tenant_id,
        url=url,
        enabled=bool(enabled),
        secret=secret,
        previous_secret=previous_secret,
        previous_secret_expires_at=_aware(previous_expires),
        basic_auth_username=basic_user,
        basic_auth_password=basic_password,
        additional_headers=_json(extra_headers) or {},
        payload_style=payload_style,
        retry_policy=retry_policy,
        send_secret_header=bool(send_secret_header),
    )
    delivery = Delivery(
        id=delivery_id,
        tenant_id=tenant_id,
        event_id=event_id,
        endpoint_id=endpoint_id,
        event_type=event_type,
        sequence=sequence,
        attempt_count=attempt_count,
        is_ping=bool(is_ping),
    )
    for instance in (event, endpoint, delivery):
        instance._state.adding = False
    return delivery, endpoint, event, slug


def load(delivery_id: str | None, *, token: str, slot_id: int) -> Claimed | None:
    """Read what sending a delivery just claimed with `token` in slot `slot_id` needs (None for no delivery)."""
    if delivery_id is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.consecutive_failures, {COLUMNS} {_ONE_DELIVERY}", [delivery_id])
        row = cursor.fetchone()
    if row is None:
        return None
    claim = flow.Claim(delivery_id=delivery_id, token=token, slot_id=slot_id, consecutive_failures=row[0])
    return claim, context(delivery_id, row[1:])
