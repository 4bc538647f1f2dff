"""Recording an attempt: the delivery's next step, the attempt row, and the slot handed on or kept.

On PostgreSQL each record is one autocommitted statement (webhooks/engine/statements.py): the
delivery's next step and its attempt row, and with a slot the hand-on (RECORD_AND_PASS_ON_PG).
Elsewhere, and whenever the endpoint is being disabled, the portable twins run in one transaction.
Within a worker's turn, attempts are recorded a set at a time (webhooks/engine/sets.py).
"""

from __future__ import annotations

import json

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from skillhub import metrics
from skillhub.db import prepared_cursor, uses_postgres_statements
from webhooks import health
from webhooks.engine import retry, rows, statements, transport, turns
from webhooks.engine.rows import Claimed
from skillhub.db import db_time
from webhooks.events import endpoint_disabled_data
from webhooks.models import DeliveryState, Endpoint
from webhooks.engine.outbox import deliveries_due, record_event

logger = logging.getLogger("skillhub.webhooks")

# Retries due sooner than this ride a delayed broker message; later ones wait for the sweep.
DELAYED_MESSAGE_MAX = timedelta(minutes=5)

# How a recorded attempt counts in the endpoint's health (webhooks/health.py), by the delivery's next state.
_OUTCOMES: dict[str, str] = {DeliveryState.SUCCEEDED: "delivered", DeliveryState.PENDING: "retrying", DeliveryState.FAILED: "failed"}


@dataclass(frozen=True)
class NextStep:
    """What an answer means for the delivery: its next state, when it is tried again, why its endpoint stops."""

    state: str
    next_attempt_at: datetime | None = None
    enqueued_at: datetime | None = None  # set when the retry rides a delayed broker message
    disable_reason: str = ""


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """An attempt as the statements write it: the columns of `Attempt`, in a small record (a set builds
    one for every delivery it sends, and a model instance costs about four times as much)."""

    delivery_id: str
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    succeeded: bool
    error: str
    response_body: str
    response_headers: dict[str, str] | None


@dataclass(frozen=True)
class Recorded:
    """A recorded attempt and the delivery its slot now waits for (to send a message for)."""

    attempt: AttemptRow
    following: str | None = None


def next_step(claimed: Claimed, result: transport.HttpResult, *, number: int, now: datetime) -> NextStep:
    """The delivery's next step after attempt `number` answered `result`."""
    if result.ok:
        return NextStep(DeliveryState.SUCCEEDED)
    if claimed.delivery.is_ping:
        return NextStep(DeliveryState.FAILED)  # a ping is one attempt; its answer goes back to the caller
    outcome = retry.after_failure(
        policy=retry.POLICIES[claimed.endpoint.retry_policy],
        attempt_number=number,
        status_code=result.status_code,
        retry_after=result.headers.get("retry-after"),
        now=now,
    )
    if outcome.next_attempt_at is None:
        return NextStep(DeliveryState.FAILED, disable_reason=outcome.disable_reason)
    # Near retries ride a delayed message; far ones are the sweep's, not a broker's memory.
    near = outcome.next_attempt_at - now <= DELAYED_MESSAGE_MAX
    return NextStep(DeliveryState.PENDING, outcome.next_attempt_at, outcome.next_attempt_at if near else None)


def record_attempt(
    claimed: Claimed,
    result: transport.HttpResult,
    *,
    started_at: datetime,
    now: datetime,
    health_notes: list[health.AttemptNote] | None = None,
) -> Recorded:
    """Record the attempt and the delivery's next step, and hand its slot on.

    The attempt counts in the endpoint's health at once, or, given `health_notes`, when the caller
    writes those (a worker's turn writes its attempts' health in one statement at its end).
    """
    attempt = attempt_of(claimed, result, started_at=started_at)
    step = next_step(claimed, result, number=attempt.number, now=now)
    params = attempt_params(claimed, attempt, step, now)
    if uses_postgres_statements() and not step.disable_reason:
        still_ours, recorded = _write_one_statement(claimed, attempt, params)
        if still_ours:
            note_recorded(claimed, attempt, step, now, health_notes)
        return recorded
    # Several statements (or disabling the endpoint): one transaction.
    with transaction.atomic():
        still_ours, recorded = _write_portable(claimed, attempt, params)
        if still_ours:
            note_recorded(claimed, attempt, step, now, health_notes)
    return recorded


def attempt_of(claimed: Claimed, result: transport.HttpResult, *, started_at: datetime) -> AttemptRow:
    """The attempt row an answer makes (not written yet)."""
    return AttemptRow(
        delivery_id=claimed.delivery.pk,
        number=claimed.delivery.attempt_count + 1,
        started_at=started_at,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        succeeded=result.ok,
        error=result.error,
        response_body=result.body_excerpt,
        response_headers=kept_headers(result.headers) if result.status_code is not None else None,
    )


# A receiver may answer with any number of headers of any length: what is kept is bounded.
RESPONSE_HEADERS_KEPT = 50
RESPONSE_HEADER_VALUE_CHARS = 500


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    """The answer's headers as the delivery log shows them: the first RESPONSE_HEADERS_KEPT, each value cut short."""
    return {name[:100]: value[:RESPONSE_HEADER_VALUE_CHARS] for name, value in list(headers.items())[:RESPONSE_HEADERS_KEPT]}


def attempt_values(claimed: Claimed, attempt: AttemptRow, step: NextStep, now: datetime) -> dict[str, Any]:
    """What recording one attempt writes, as Python values: the delivery's next step and its attempt row,
    under the claim it was sent with (the rows of a set statement's `sent` JSON; `attempt_params` adapts them)."""
    claim = claimed.claim
    return {
        "delivery_id": claim.delivery_id,
        "token": claim.token,
        "slot_id": claim.slot_id,
        "state": step.state,
        "number": attempt.number,
        "next_attempt_at": step.next_attempt_at,
        "enqueued_at": step.enqueued_at,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "delivered_at": now if attempt.succeeded else None,
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "succeeded": attempt.succeeded,
        "response_body": attempt.response_body,
        "response_headers": attempt.response_headers,
    }


_TIMES = ("next_attempt_at", "enqueued_at", "delivered_at", "started_at")


def attempt_params(
    claimed: Claimed, attempt: AttemptRow, step: NextStep, now: datetime, *, instants: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The named parameters of FINISH and INSERT_ATTEMPT (and their PostgreSQL statements) for one attempt:
    `attempt_values` as the driver takes them; `instants` are `turns.instants(now)` when the caller has them."""
    values = attempt_values(claimed, attempt, step, now)
    headers = values["response_headers"]
    return {
        **(instants if instants is not None else turns.instants(now)),
        **values,
        **{name: db_time(values[name]) for name in _TIMES},
        "updated_at": db_time(timezone.now()),
        "response_headers": json.dumps(headers) if headers is not None else None,
    }


def _write_one_statement(claimed: Claimed, attempt: AttemptRow, params: dict[str, Any]) -> tuple[bool, Recorded]:
    """PostgreSQL: the record, and with a slot the hand-on, in one statement."""
    with prepared_cursor() as cursor:
        if claimed.claim.slot_id is None:
            cursor.execute(statements.RECORD_PG, params)
            return _dropped_unless(cursor.rowcount == 1, claimed, Recorded(attempt))
        cursor.execute(statements.RECORD_AND_PASS_ON_PG, params)
        row = rows.named(cursor, cursor.fetchone()) or {}
        return _dropped_unless(bool(row.get("still_ours")), claimed, Recorded(attempt, row.get("following") or None))


def _write_portable(claimed: Claimed, attempt: AttemptRow, params: dict[str, Any]) -> tuple[bool, Recorded]:
    """The portable twins, in the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(statements.FINISH, params)
        if cursor.rowcount != 1:
            return _dropped_unless(False, claimed, Recorded(attempt))
        cursor.execute(statements.INSERT_ATTEMPT, params)
        if claimed.claim.slot_id is None:
            return True, Recorded(attempt)
        return True, Recorded(attempt, turns.pass_on_portable(cursor, params))


def _dropped_unless(still_ours: bool, claimed: Claimed, recorded: Recorded) -> tuple[bool, Recorded]:
    if not still_ours:
        note_dropped(claimed)
        return False, Recorded(recorded.attempt)
    return True, recorded


def note_dropped(claimed: Claimed) -> None:
    # Deleted with its endpoint while in flight (or its lease was taken over): nothing to record or resend.
    logger.info("delivery %s was deleted or reclaimed while in flight; its answer is dropped", claimed.delivery.pk)


def note_recorded(
    claimed: Claimed, attempt: AttemptRow, step: NextStep, now: datetime, health_notes: list[health.AttemptNote] | None
) -> None:
    """What a recorded attempt sets off: metrics, disabling the endpoint, the retry's message, health."""
    delivery, endpoint = claimed.delivery, claimed.endpoint
    metrics.delivery_attempted(
        delivery_id=delivery.pk,
        endpoint_id=endpoint.pk,
        event_type=claimed.event.type,
        number=attempt.number,
        status_code=attempt.status_code,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
        state=step.state,
    )
    if step.disable_reason:
        endpoint_disable(endpoint=endpoint, reason=step.disable_reason, now=now)
    if step.enqueued_at is not None:
        deliveries_due.fire_on_commit([delivery.pk], delay=step.enqueued_at - now)
    note = health.AttemptNote(
        endpoint.pk, attempt.started_at, attempt.duration_ms, attempt.status_code, _OUTCOMES[step.state]
    )
    if health_notes is None:
        health.note_attempts([note])
    else:
        health_notes.append(note)


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
