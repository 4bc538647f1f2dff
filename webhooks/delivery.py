"""Sending one delivery: claim the row, POST it, record the attempt and decide what comes next.

This is the worker's hot path, so it speaks SQL directly: compiling the equivalent ORM queries
cost more CPU than everything else a delivery does (measured: 2.9 of 4.1 ms per delivery),
and on a 2-core box CPU is what bounds deliveries per second. The SQL is plain enough to run
unchanged on PostgreSQL and SQLite; table and column names come from the models.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any, Callable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from skillhub.db import postgres_statements, prepared_cursor
from skillhub.hooks import after_commit
from tenants.models import Tenant
from webhooks import breaker, flow, payloads, retry, sendpool, transport, wake
from webhooks.events import endpoint_disabled_data
from webhooks.models import Attempt, Delivery, DeliveryState, Endpoint, Event
from webhooks.outbox import deliveries_due, record_event

logger = logging.getLogger("skillhub.webhooks")

# A claim outlives the longest request (15 s) with room to record it; then the sweep may take over
# (the time a delivery in flight in a killed worker waits before it is sent again).
CLAIM_LEASE = timedelta(seconds=settings.WEBHOOKS_CLAIM_LEASE_SECONDS)
# Retries due sooner than this ride a delayed broker message; later ones wait for the sweep.
DELAYED_MESSAGE_MAX = timedelta(minutes=5)

_D = Delivery._meta.db_table
_E = Event._meta.db_table
_P = Endpoint._meta.db_table
_A = Attempt._meta.db_table
_T = Tenant._meta.db_table
_DATA = Event._meta.get_field("data")

_COLUMNS = (
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
_RELEASE = f"UPDATE {_D} SET state = %s, claimed_until = NULL, claim_token = '' WHERE id = %s AND claim_token = %s"
_LOAD = (
    f"SELECT {_COLUMNS} FROM {_D} d JOIN {_E} e ON e.id = d.event_id JOIN {_P} p ON p.id = d.endpoint_id "
    f"JOIN {_T} t ON t.id = d.tenant_id WHERE d.id = %s"
)
# PostgreSQL: claim and read the context in one round trip (UPDATE … FROM locks only the delivery).
# Each of these autocommitted statements commits asynchronously (`set_config(…, true)` is SET LOCAL
# for its own transaction): a database crash may forget the last fraction of a second of claims
# and attempts, which only means a delivery is sent again with the same webhook-id (at least once
# is the contract). The disabling path and everything a caller records stay synchronous.
_ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
_CLAIM_AND_LOAD_PG = (
    f"UPDATE {_D} d SET state = %s, claimed_until = %s, claim_token = %s FROM {_E} e, {_P} p, {_T} t{{async_commit}} "
    "WHERE d.id = %s AND d.is_ping AND ((d.state = %s AND d.next_attempt_at <= %s) OR (d.state = %s AND d.claimed_until < %s)) "
    f"AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id RETURNING {_COLUMNS}"
)
_INSERT_ATTEMPT = (
    f"INSERT INTO {_A} (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
_FINISH_SET = (
    "state = %s, attempt_count = %s, next_attempt_at = %s, enqueued_at = %s, "
    "claimed_until = NULL, claim_token = '', last_status_code = %s, last_error = %s, "
    "delivered_at = COALESCE(%s, delivered_at), updated_at = %s WHERE id = %s AND claim_token = %s"
)
_FINISH = f"UPDATE {_D} SET {_FINISH_SET}"
# PostgreSQL: the delivery's next step and the attempt row in one autocommitted statement. The
# attempt is written only if the delivery is still there and still ours: an endpoint deleted
# while its delivery was in flight took the delivery with it, and the answer is dropped.
_RECORD_PG = (
    f"WITH finish AS (UPDATE {_D} SET {_FINISH_SET} RETURNING id) ".replace(" WHERE id = %s", "{async_commit} WHERE id = %s")
    + f"INSERT INTO {_A} (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body) "
    "SELECT finish.id, %s::integer, %s::timestamptz, %s::integer, %s::integer, %s::boolean, %s::text, %s::text FROM finish"
)
# … and the slot handed on to the endpoint's next due delivery, in the same statement; it answers
# (the next delivery or '', whether the delivery was still ours).
_RECORD_AND_PASS_ON_PG = (
    f"WITH finish AS (UPDATE {_D} SET {_FINISH_SET} RETURNING id), ".replace(" WHERE id = %s", "{async_commit} WHERE id = %s")
    + f"attempt AS (INSERT INTO {_A} (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body) "
    "SELECT finish.id, %s::integer, %s::timestamptz, %s::integer, %s::integer, %s::boolean, %s::text, %s::text FROM finish), "
    + flow.PASS_ON_CTES
    + " "
    + flow.PASS_ON_UPDATE
    + ", (SELECT count(*) FROM finish)"
)


def _own_commit(sql: str, *, joined: bool) -> str:
    """Let `sql` commit asynchronously, but only as its own transaction, never inside a caller's."""
    if connection.in_atomic_block:
        return sql.replace("{async_commit}", "")
    return sql.replace("{async_commit}", f", {_ASYNC_COMMIT}" if joined else f" FROM {_ASYNC_COMMIT}")


def _db_time(value: datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if value is not None else None


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
        _db_time(now + flow.claim_lease()),
        token,
        delivery_id,
        DeliveryState.PENDING,
        _db_time(now),
        DeliveryState.SENDING,
        _db_time(now),
    ]


def _claim_and_load(delivery_id: str, now: datetime) -> tuple[flow.Claim, tuple[Delivery, Endpoint, Event, str]] | None:
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


def _claim_next(delivery_id: str, now: datetime) -> tuple[flow.Claim, tuple[Delivery, Endpoint, Event, str]] | None:
    token = flow.new_token()
    if not postgres_statements():
        claim = flow.claim_portable(hint_id=delivery_id, token=token, now=now)
        if claim is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute(_LOAD, [claim.delivery_id])
            row = cursor.fetchone()
        return (claim, _context(claim.delivery_id, row)) if row is not None else None
    async_commit = "" if connection.in_atomic_block else f", {_ASYNC_COMMIT}"
    sql = flow.claim_sql(
        joins=f", {_E} e, {_P} p, {_T} t",
        join_conditions=" AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id",
        columns=", " + _COLUMNS,
        async_commit=async_commit,
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, flow.claim_params(delivery_id, token, now))
        row = cursor.fetchone()
    if row is None:
        return None
    claim = flow.Claim(delivery_id=row[0], token=token, slot_id=row[1], consecutive_failures=row[2])
    return claim, _context(row[0], row[3:])


def _claim_ping(delivery_id: str, now: datetime) -> tuple[flow.Claim, tuple[Delivery, Endpoint, Event, str]] | None:
    """A ping tests the endpoint now, whatever its slots or circuit say."""
    if not postgres_statements():
        token = claim(delivery_id=delivery_id, now=now, ping=True)
        if token is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute(_LOAD, [delivery_id])
            row = cursor.fetchone()
    else:
        token = uuid.uuid4().hex
        with prepared_cursor() as cursor:
            cursor.execute(_own_commit(_CLAIM_AND_LOAD_PG, joined=True), _claim_params(delivery_id, token, now))
            row = cursor.fetchone()
    if row is None:
        return None
    return flow.Claim(delivery_id=delivery_id, token=token, slot_id=None, consecutive_failures=0), _context(
        delivery_id, row
    )


def _context(delivery_id: str, row: tuple[Any, ...]) -> tuple[Delivery, Endpoint, Event, str]:
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


@dataclass
class _Started:
    """A claimed delivery and the request that will carry it."""

    claim: flow.Claim
    delivery: Delivery
    endpoint: Endpoint
    started_at: datetime
    request: Callable[[], transport.HttpResult]


def send(*, delivery_id: str, now: datetime | None = None) -> Attempt | None:
    """Claim the endpoint's next due delivery, POST it once and record the attempt, in this thread.

    None when there was nothing to do: not due, at the endpoint's in-flight cap, held back by its
    circuit breaker, claimed by another worker, or deleted with its endpoint.
    """
    started = _start(delivery_id, now)
    if started is None:
        return None
    return _finish(started, _post(started), now)[0]


def dispatch(*, delivery_id: str) -> None:
    """What the worker runs: like `send`, but a slow receiver is waited for by a send thread.

    The worker thread waits WEBHOOKS_HANDOFF_AFTER for the answer, then goes back to the queue;
    the attempt is recorded when the answer (or the timeout) comes. Hanging receivers cost send
    threads, never the worker threads other endpoints' deliveries need.

    A receiver that answers at once keeps the thread for its endpoint's next deliveries for one
    turn (WEBHOOKS_TURN_SECONDS); then the next one's message goes to the back of the queue, behind
    every other endpoint's.
    """
    turn_ends = time.monotonic() + float(settings.WEBHOOKS_TURN_SECONDS)
    next_id: str | None = delivery_id
    while next_id is not None:
        started = _start(next_id, None)
        if started is None:
            return
        if next_id == delivery_id:
            result = sendpool.run(
                functools.partial(_post, started),
                later=functools.partial(_finish_later, started),
            )
            if result is None:  # handed off: recorded when the answer comes
                return
        else:
            # Within a turn the receiver has just answered at once: no hand-off (it costs two
            # thread switches per delivery); should it hang now, this thread waits one timeout.
            result = _post(started)
        keep_turn = time.monotonic() < turn_ends
        following = _finish(started, result, None, keep_turn=keep_turn)[1]
        next_id = following if keep_turn else None


def _start(delivery_id: str, now: datetime | None) -> _Started | None:
    claimed = _claim_and_load(delivery_id, now or timezone.now())
    if claimed is None:
        return None
    claim_, (delivery, endpoint, event, slug) = claimed
    if not endpoint.enabled and not delivery.is_ping:
        # Disabled while queued: keep it pending; re-enabling resumes it.
        with connection.cursor() as cursor:
            cursor.execute(_RELEASE, [DeliveryState.PENDING, claim_.delivery_id, claim_.token])
        if claim_.slot_id is not None:
            following = flow.pass_on(
                slot_id=claim_.slot_id, token=claim_.token, delivery_id=claim_.delivery_id, now=now or timezone.now()
            )
            if following is not None:
                deliveries_due.fire_on_commit([following])
        return None
    started_at = timezone.now() if now is None else now

    def request() -> transport.HttpResult:
        body = payloads.render_body(event, style=endpoint.payload_style, tenant_slug=slug)
        headers = payloads.request_headers(delivery=delivery, endpoint=endpoint, event=event, body=body)
        auth = (
            (endpoint.basic_auth_username, endpoint.basic_auth_password)
            if endpoint.basic_auth_username or endpoint.basic_auth_password
            else None
        )
        return transport.post(endpoint.url, body=body, headers=headers, auth=auth)

    return _Started(claim=claim_, delivery=delivery, endpoint=endpoint, started_at=started_at, request=request)


def _post(started: _Started) -> transport.HttpResult:
    try:
        return started.request()
    except Exception as exc:
        # Recorded as a failed attempt, so the schedule moves on instead of the lease expiring forever.
        logger.exception("delivery %s could not be sent", started.delivery.pk)
        return transport.HttpResult(None, {}, "", f"could not send: {type(exc).__name__}", 0)


def _finish_later(started: _Started, result: transport.HttpResult) -> tuple[Attempt, str | None]:
    """Record the answer of a POST that was handed off to a send thread, when it comes."""
    return _finish(started, result, None)


def _finish(
    started: _Started, result: transport.HttpResult, now: datetime | None, *, keep_turn: bool = False
) -> tuple[Attempt, str | None]:
    """Record the attempt and hand the slot on; return it and the endpoint's next delivery, if any.

    The next delivery gets a broker message, unless the caller keeps the turn and sends it itself.
    """
    finished_at = timezone.now() if now is None else now
    claim_ = started.claim
    resumed = False
    if claim_.slot_id is not None:
        resumed = breaker.note_outcome(
            endpoint_id=started.endpoint.pk,
            failures_before=claim_.consecutive_failures,
            status_code=result.status_code,
            error=result.error,
            now=finished_at,
        )
    attempt, following = _record(
        delivery=started.delivery,
        endpoint=started.endpoint,
        token=claim_.token,
        result=result,
        started_at=started.started_at,
        now=finished_at,
        slot_id=claim_.slot_id,
    )
    if following is not None and not keep_turn:
        deliveries_due.fire_on_commit([following])
    if resumed:  # the probe was answered: the endpoint's other slots start again at once
        endpoint_id = started.endpoint.pk
        after_commit(lambda: deliveries_due.fire(wake.wake_endpoint(endpoint_id=endpoint_id, now=timezone.now())))
    return attempt, following


def _record(
    *,
    delivery: Delivery,
    endpoint: Endpoint,
    token: str,
    result: transport.HttpResult,
    started_at: datetime,
    now: datetime,
    slot_id: int | None = None,
) -> tuple[Attempt, str | None]:
    """Record the attempt and the delivery's next step, and hand its slot on; return the attempt and
    the endpoint's next delivery that the slot now waits for (None when the slot was freed)."""
    number = delivery.attempt_count + 1
    attempt = Attempt(
        delivery_id=delivery.pk,
        number=number,
        started_at=started_at,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        succeeded=result.ok,
        error=result.error,
        response_body=result.body_excerpt,
    )
    state, next_attempt_at, enqueued_at, disable_reason = DeliveryState.SUCCEEDED, None, None, ""
    if not result.ok and delivery.is_ping:
        state = DeliveryState.FAILED  # a ping is one attempt; its answer goes back to the caller
    elif not result.ok:
        outcome = retry.after_failure(
            policy=retry.POLICIES[endpoint.retry_policy],
            attempt_number=number,
            status_code=result.status_code,
            retry_after=result.headers.get("retry-after"),
            now=now,
        )
        if outcome.next_attempt_at is None:
            state, disable_reason = DeliveryState.FAILED, outcome.disable_reason
        else:
            state, next_attempt_at = DeliveryState.PENDING, outcome.next_attempt_at
            # Near retries ride a delayed message; far ones are the sweep's, not a broker's memory.
            if next_attempt_at - now <= DELAYED_MESSAGE_MAX:
                enqueued_at = next_attempt_at
    params = [
        attempt.delivery_id,
        number,
        _db_time(started_at),
        attempt.duration_ms,
        attempt.status_code,
        attempt.succeeded,
        attempt.error,
        attempt.response_body,
        state,
        number,
        _db_time(next_attempt_at),
        _db_time(enqueued_at),
        result.status_code,
        result.error,
        _db_time(now) if result.ok else None,
        _db_time(timezone.now()),
        delivery.pk,
        token,
    ]
    single_statement = postgres_statements() and not disable_reason
    following = None
    pass_on = (
        flow.pass_on_params(slot_id=slot_id, token=token, delivery_id=delivery.pk, now=now)
        if slot_id is not None
        else []
    )
    # One autocommitted statement is atomic by itself; otherwise the steps share a transaction.
    with transaction.atomic() if not single_statement else nullcontext():
        with prepared_cursor() if single_statement else connection.cursor() as cursor:
            if single_statement and slot_id is None:
                cursor.execute(_own_commit(_RECORD_PG, joined=False), params[8:] + params[1:8])
                still_ours = cursor.rowcount == 1
            elif single_statement:
                cursor.execute(_own_commit(_RECORD_AND_PASS_ON_PG, joined=False), params[8:] + params[1:8] + pass_on)
                row = cursor.fetchone()
                still_ours = bool(row and row[1])
                following = (row[0] or None) if row else None
            else:
                cursor.execute(_FINISH, params[8:])
                still_ours = cursor.rowcount == 1
                if still_ours:
                    cursor.execute(_INSERT_ATTEMPT, params[:8])
        if still_ours and slot_id is not None and not single_statement:
            following = flow.pass_on(slot_id=slot_id, token=token, delivery_id=delivery.pk, now=now)
        if not still_ours:
            # Deleted with its endpoint while in flight (or its lease was taken over): nothing to record or resend.
            logger.info("delivery %s was deleted or reclaimed while in flight; its answer is dropped", delivery.pk)
            return attempt, None
        if disable_reason:
            endpoint_disable(endpoint=endpoint, reason=disable_reason, now=now)
        if enqueued_at is not None:
            deliveries_due.fire_on_commit([delivery.pk], delay=enqueued_at - now)
    return attempt, following


def endpoint_disable(*, endpoint: Endpoint, reason: str, now: datetime | None = None) -> bool:
    """Disable an endpoint after failed deliveries and tell the tenant's other endpoints; False if already off."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, deactivate_reason=reason[:500], updated_at=now
        )
        if not changed:
            return False
        endpoint.enabled, endpoint.deactivate_reason = False, reason[:500]
        record_event(
            tenant=endpoint.tenant,
            event_type="endpoint.disabled",
            data=endpoint_disabled_data(endpoint, reason=reason, disabled_at=now),
            subject_type="webhook",
            subject_id=endpoint.pk,
        )
    logger.warning("webhook endpoint %s of tenant %s disabled: %s", endpoint.pk, endpoint.tenant_id, reason)
    return True
