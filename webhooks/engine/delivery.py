"""Sending one delivery: claim it (webhooks/claims.py), POST it, record the attempt and decide what comes next.

Recording speaks SQL directly for the reason given in webhooks/claims.py; on PostgreSQL each
step is one autocommitted statement.
"""

from __future__ import annotations

import functools
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from skillhub import logcontext, metrics
from skillhub.db import uses_postgres_statements, prepared_cursor
from skillhub.hooks import after_commit
from tenants.models import Tenant
from webhooks import health
from webhooks.engine import breaker, claims, turns as flow, payloads, retry, sendpool, transport, wake
from webhooks.engine.claims import own_commit
from webhooks.events import endpoint_disabled_data
from webhooks.engine.turns import db_time
from webhooks.models import Attempt, Delivery, DeliveryState, Endpoint, Event
from webhooks.outbox import deliveries_due, record_event

logger = logging.getLogger("skillhub.webhooks")

# Retries due sooner than this ride a delayed broker message; later ones wait for the sweep.
DELAYED_MESSAGE_MAX = timedelta(minutes=5)

_D = Delivery._meta.db_table
_E = Event._meta.db_table
_P = Endpoint._meta.db_table
_A = Attempt._meta.db_table
_T = Tenant._meta.db_table

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

# … or, within a turn, the endpoint's next due delivery claimed and read for the thread that keeps
# the slot (webhooks/flow.py, CLAIM_NEXT_CTES), in the same statement: one round trip per delivery
# while an endpoint keeps its worker thread. It answers whether the delivery was still ours, then
# the claimed one's columns (nulls when the slot was freed instead).
_RECORD_AND_CLAIM_NEXT_PG = (
    f"WITH finish AS (UPDATE {_D} SET {_FINISH_SET} RETURNING id), ".replace(" WHERE id = %s", "{async_commit} WHERE id = %s")
    + f"attempt AS (INSERT INTO {_A} (delivery_id, number, started_at, duration_ms, status_code, succeeded, error, response_body) "
    "SELECT finish.id, %s::integer, %s::timestamptz, %s::integer, %s::integer, %s::boolean, %s::text, %s::text FROM finish), "
    + flow.CLAIM_NEXT_CTES
    + f", claimed AS (UPDATE {_D} d SET state = 'sending', claimed_until = %s, claim_token = %s "
    f"FROM nxt, {_E} e, {_P} p, {_T} t "
    "WHERE d.id = nxt.id AND e.id = d.event_id AND p.id = d.endpoint_id AND t.id = d.tenant_id "
    f"RETURNING d.id, p.consecutive_failures AS failures, {claims.COLUMNS}) "
    "SELECT (SELECT count(*) FROM finish), claimed.* FROM one LEFT JOIN claimed ON true"
)


# How a recorded attempt counts in the endpoint's health (webhooks/health.py), by the delivery's next state.
_OUTCOMES = {DeliveryState.SUCCEEDED: "delivered", DeliveryState.PENDING: "retrying", DeliveryState.FAILED: "failed"}


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
    started = _start(delivery_id, None)
    if started is None:
        return
    result = sendpool.run(functools.partial(_post, started), later=functools.partial(_finish_later, started))
    while result is not None:  # None: handed off, recorded when the answer comes
        keep_turn = time.monotonic() < turn_ends
        _, following, claimed = _finish(started, result, None, keep_turn=keep_turn)
        if not keep_turn:
            return
        next_started = _prepare(claimed, None) if claimed is not None else following and _start(following, None)
        if not next_started:
            return
        started = next_started
        # Within a turn the receiver has just answered at once: no hand-off (it costs two thread
        # switches per delivery); should it hang now, this thread waits one timeout.
        result = _post(started)


def _start(delivery_id: str, now: datetime | None) -> _Started | None:
    claimed = claims.claim_and_load(delivery_id, now or timezone.now())
    return _prepare(claimed, now) if claimed is not None else None


def _prepare(claimed: claims.Claimed, now: datetime | None) -> _Started | None:
    """The request for a claimed delivery; None (and the claim given back) when its endpoint was disabled meanwhile."""
    claim_, (delivery, endpoint, event, slug) = claimed
    if not endpoint.enabled and not delivery.is_ping:
        # Disabled while queued: keep it pending; re-enabling resumes it.
        with connection.cursor() as cursor:
            cursor.execute(claims.RELEASE, [DeliveryState.PENDING, claim_.delivery_id, claim_.token])
        if claim_.slot_id is not None:
            following = flow.pass_on(
                slot_id=claim_.slot_id, token=claim_.token, delivery_id=claim_.delivery_id, now=now or timezone.now()
            )
            if following is not None:
                deliveries_due.fire_on_commit([following])
        return None
    started_at = timezone.now() if now is None else now
    logcontext.bind(tenant=slug, deliveryId=delivery.pk, endpointId=endpoint.pk, eventId=event.pk)

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


def _finish_later(started: _Started, result: transport.HttpResult) -> object:
    """Record the answer of a POST that was handed off to a send thread, when it comes."""
    return _finish(started, result, None)


def _finish(
    started: _Started, result: transport.HttpResult, now: datetime | None, *, keep_turn: bool = False
) -> tuple[Attempt, str | None, claims.Claimed | None]:
    """Record the attempt and hand the slot on; return it, the delivery the slot now waits for, and
    the one already claimed for this thread (see `_record`).

    The delivery the slot waits for gets a broker message, unless the caller keeps the turn and
    sends it itself.
    """
    finished_at = timezone.now() if now is None else now
    claim_ = started.claim
    resumed = False
    try:
        with _savepoint():
            if claim_.slot_id is not None:
                resumed = breaker.note_outcome(
                    endpoint_id=started.endpoint.pk,
                    failures_before=claim_.consecutive_failures,
                    status_code=result.status_code,
                    error=result.error,
                    now=finished_at,
                )
            attempt, following, claimed = _record(
                delivery=started.delivery,
                endpoint=started.endpoint,
                token=claim_.token,
                result=result,
                started_at=started.started_at,
                now=finished_at,
                slot_id=claim_.slot_id,
                claim_next=keep_turn,
            )
    except Exception as exc:
        # Whatever the answer held, the attempt must end: a delivery left `sending` would be sent
        # again each time its lease ran out, forever, and its endpoint never counted as failing.
        logger.exception("delivery %s: the attempt could not be recorded as answered", started.delivery.pk)
        attempt, following, claimed = _record_unrecordable(started, result, finished_at, exc)
        keep_turn = False
    if following is not None and not keep_turn:
        deliveries_due.fire_on_commit([following])
    if resumed:  # the probe was answered: the endpoint's other slots start again at once
        endpoint_id = started.endpoint.pk
        after_commit(lambda: deliveries_due.fire(wake.wake_endpoint(endpoint_id=endpoint_id, now=timezone.now())))
    return attempt, following, claimed


def _savepoint() -> Any:
    """A savepoint inside a caller's transaction (so a failed statement leaves it usable), else nothing."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def _record_unrecordable(
    started: _Started, result: transport.HttpResult, now: datetime, exc: Exception
) -> tuple[Attempt, str | None, claims.Claimed | None]:
    """Record an attempt whose answer could not be recorded, as an error saying why.

    First with the receiver's status kept (a 2xx was delivered, whatever its body), then as no
    answer at all. When even that fails (the database is gone), the claim's lease runs out and
    the delivery is sent again later: at least once, never lost.
    """
    reason = transport.safe_text(f"the answer could not be recorded: {type(exc).__name__}")
    fallbacks = (
        transport.HttpResult(result.status_code, {}, "", reason, result.duration_ms),
        transport.HttpResult(None, {}, "", reason, result.duration_ms),
    )
    claim_ = started.claim
    last: Exception = exc
    for fallback in fallbacks:
        try:
            with _savepoint():
                return _record(
                    delivery=started.delivery,
                    endpoint=started.endpoint,
                    token=claim_.token,
                    result=fallback,
                    started_at=started.started_at,
                    now=now,
                    slot_id=claim_.slot_id,
                )
        except Exception as again:
            last = again
            logger.warning("delivery %s: recording the attempt as an error failed too: %s", started.delivery.pk, type(again).__name__)
    raise last


def _record(
    *,
    delivery: Delivery,
    endpoint: Endpoint,
    token: str,
    result: transport.HttpResult,
    started_at: datetime,
    now: datetime,
    slot_id: int | None = None,
    claim_next: bool = False,
) -> tuple[Attempt, str | None, claims.Claimed | None]:
    """Record the attempt and the delivery's next step, and hand its slot on.

    Return the attempt, the endpoint's next delivery that the slot now waits for (None when the
    slot was freed) and, with `claim_next` on PostgreSQL, that next delivery already claimed for
    this thread in the same statement instead (then the slot waits for nothing).
    """
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
        db_time(started_at),
        attempt.duration_ms,
        attempt.status_code,
        attempt.succeeded,
        attempt.error,
        attempt.response_body,
        state,
        number,
        db_time(next_attempt_at),
        db_time(enqueued_at),
        result.status_code,
        result.error,
        db_time(now) if result.ok else None,
        db_time(timezone.now()),
        delivery.pk,
        token,
    ]
    single_statement = uses_postgres_statements() and not disable_reason
    following: str | None = None
    claimed: claims.Claimed | None = None
    # One autocommitted statement is atomic by itself; otherwise the steps share a transaction.
    with transaction.atomic() if not single_statement else nullcontext():
        with prepared_cursor() if single_statement else connection.cursor() as cursor:
            if single_statement and slot_id is None:
                cursor.execute(own_commit(_RECORD_PG, joined=False), params[8:] + params[1:8])
                still_ours = cursor.rowcount == 1
            elif single_statement and claim_next and slot_id is not None:
                claim_params = flow.claim_next_params(slot_id=slot_id, token=token, delivery_id=delivery.pk, now=now)
                lease_end = db_time(now + flow.claim_lease())
                cursor.execute(
                    own_commit(_RECORD_AND_CLAIM_NEXT_PG, joined=False),
                    params[8:] + params[1:8] + claim_params + [lease_end, token],
                )
                row = cursor.fetchone()
                still_ours = bool(row and row[0])
                if row is not None and row[1] is not None:
                    claim_ = flow.Claim(delivery_id=row[1], token=token, slot_id=slot_id, consecutive_failures=row[2])
                    claimed = (claim_, claims.context(row[1], row[3:]))
            elif single_statement and slot_id is not None:
                pass_on = flow.pass_on_params(slot_id=slot_id, token=token, delivery_id=delivery.pk, now=now)
                cursor.execute(own_commit(_RECORD_AND_PASS_ON_PG, joined=False), params[8:] + params[1:8] + pass_on)
                row = cursor.fetchone()
                still_ours = bool(row and row[1])
                following = (row[0] or None) if row else None
            else:
                cursor.execute(_FINISH, params[8:])
                still_ours = cursor.rowcount == 1
                if still_ours:
                    cursor.execute(_INSERT_ATTEMPT, params[:8])
        if still_ours and slot_id is not None and not single_statement and claim_next:
            claimed = claims.load(
                flow.claim_next_portable(slot_id=slot_id, token=token, delivery_id=delivery.pk, now=now),
                token=token,
                slot_id=slot_id,
            )
        elif still_ours and slot_id is not None and not single_statement:
            following = flow.pass_on(slot_id=slot_id, token=token, delivery_id=delivery.pk, now=now)
        if not still_ours:
            # Deleted with its endpoint while in flight (or its lease was taken over): nothing to record or resend.
            logger.info("delivery %s was deleted or reclaimed while in flight; its answer is dropped", delivery.pk)
            return attempt, None, None
        metrics.delivery_attempted(
            delivery_id=delivery.pk,
            endpoint_id=endpoint.pk,
            event_type=delivery.event_type,
            number=number,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
            state=state,
        )
        if disable_reason:
            endpoint_disable(endpoint=endpoint, reason=disable_reason, now=now)
        if enqueued_at is not None:
            deliveries_due.fire_on_commit([delivery.pk], delay=enqueued_at - now)
        health.note_attempt(
            endpoint_id=endpoint.pk,
            started_at=started_at,
            duration_ms=attempt.duration_ms,
            status_code=attempt.status_code,
            outcome=_OUTCOMES[state],
        )
    return attempt, following, claimed


def endpoint_disable(*, endpoint: Endpoint, reason: str, now: datetime | None = None) -> bool:
    """Disable an endpoint after failed deliveries and tell the tenant's other endpoints; False if already off."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, deactivate_reason=reason[:500], updated_at=now
        )
        if not changed:
            return False
        metrics.endpoint_disabled()
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
