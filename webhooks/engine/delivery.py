"""One delivery, read forward: claim it (claims), build and POST its request (payloads, transport),
record the attempt and hand its slot on (record), then, within a worker's turn, the next one.

The actor (webhooks/engine/actors.py) calls `dispatch`; tests and pings call `send`.
"""

from __future__ import annotations

import functools
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from skillhub import logcontext
from skillhub.hooks import after_commit
from webhooks import health
from webhooks.engine import breaker, claims, payloads, sendpool, sets, transport, turns, wake
from webhooks.engine.record import AttemptRow, Recorded, record_attempt
from webhooks.engine.rows import Claimed
from webhooks.engine.outbox import deliveries_due

logger = logging.getLogger("skillhub.webhooks")


@dataclass
class AfterMessage:
    """What a message's deliveries leave to do once they are all recorded, done in a few statements.

    Their attempts counted in their endpoints' health, and the endpoints whose slot was freed (or
    whose claim found nothing) looked at again for a delivery recorded meanwhile (`wake.after_slots_freed`).
    """

    notes: list[health.AttemptNote] = field(default_factory=list)
    freed_endpoints: list[str] = field(default_factory=list)
    unclaimed: list[str] = field(default_factory=list)

    def finish(self) -> None:
        try:
            health.note_attempts(self.notes)
        finally:
            _catch_up_after_free(endpoint_ids=self.freed_endpoints, delivery_ids=self.unclaimed)


@dataclass
class _Started:
    """A claimed delivery and the request that will carry it."""

    claimed: Claimed
    started_at: datetime
    request: Callable[[], transport.HttpResult]


def send(*, delivery_id: str, now: datetime | None = None) -> AttemptRow | None:
    """Claim the endpoint's next due delivery, POST it once and record the attempt, in this thread.

    None when there was nothing to do: not due, at the endpoint's in-flight cap, held back by its
    circuit breaker, claimed by another worker, or deleted with its endpoint.
    """
    after = AfterMessage()
    try:
        started = _start(delivery_id, now, after)
        if started is None:
            return None
        return _finish(started, _post(started), now, after).attempt
    finally:
        after.finish()


def dispatch(*, delivery_id: str, after: AfterMessage | None = None) -> None:
    """What the worker runs: like `send`, but a slow receiver is waited for by a send thread.

    The worker thread waits WEBHOOKS_HANDOFF_AFTER for the answer, then goes back to the queue;
    the attempt is recorded when the answer (or the timeout) comes. Hanging receivers cost send
    threads, never the worker threads other endpoints' deliveries need.

    A receiver that answers at once keeps the thread for its endpoint's next deliveries for one
    turn (WEBHOOKS_TURN_SECONDS), a set at a time (webhooks/engine/sets.py); then the next one's
    message goes to the back of the queue, behind every other endpoint's.
    """
    if after is None:
        after = AfterMessage()
        try:
            dispatch(delivery_id=delivery_id, after=after)
        finally:
            after.finish()
        return
    started = _start(delivery_id, None, after)
    if started is None:
        return
    result = sendpool.run(functools.partial(_post, started), later=functools.partial(_finish_later, started))
    if result is None:  # handed off, recorded when the answer comes
        return
    if started.claimed.claim.slot_id is None:  # a ping: one attempt, no turn
        _finish(started, result, None, after)
        return
    _turn([(started, result)], after)


def dispatch_many(*, delivery_ids: list[str], after: AfterMessage) -> None:
    """`dispatch` for each id of a message naming several endpoints (a wide wake): their claims sent
    together, their POSTs made at once on the send threads and awaited together, then each answered
    one recorded and its endpoint's turn taken as `dispatch` takes it."""
    now = timezone.now()
    started: list[_Started] = []
    for delivery_id, claimed in zip(delivery_ids, claims.claim_many(delivery_ids, now)):
        if claimed is None:
            # Its statement may have held a free slot locked while a recording looked for one.
            after.unclaimed.append(delivery_id)
            continue
        prepared = _prepare(claimed, None)
        if prepared is not None:
            started.append(prepared)
    results = sendpool.run_all(
        [functools.partial(_post, one) for one in started], laters=[functools.partial(_finish_later, one) for one in started]
    )
    answered = [(one, result) for one, result in zip(started, results) if result is not None]  # else handed off
    for one, result in answered:
        if one.claimed.claim.slot_id is None:  # a ping: one attempt, no turn
            _finish(one, result, None, after)
    in_turns = [(one, result) for one, result in answered if one.claimed.claim.slot_id is not None]
    for next_set in _first_sets(in_turns, after) if in_turns else []:
        if next_set:  # the endpoint had more due: its turn goes on in this thread, as `dispatch` takes it
            sent, unsent = _send_set(next_set)
            _turn(sent, after, unsent)


def _turn(
    sent: list[tuple[_Started, transport.HttpResult]], after: AfterMessage, unsent: list[Claimed] | None = None
) -> None:
    """Record the set just sent (giving back what it left unsent) and claim the next, send it, and so
    on until the turn ends."""
    turn_ends = time.monotonic() + float(settings.WEBHOOKS_TURN_SECONDS)
    unsent = unsent or []
    # The receiver's pace: first its answers' own durations, then each whole set's, ours included.
    pace = sum(result.duration_ms for _, result in sent) / 1000 / len(sent)
    while True:
        set_size = turns.next_set_size(seconds_per_delivery=pace, seconds_left=turn_ends - time.monotonic())
        claimed = _finish_set(sent, unsent, keep_turn=time.monotonic() < turn_ends, after=after, set_size=set_size)
        if not claimed:
            return
        set_started = time.monotonic()
        sent, unsent = _send_set(claimed)
        pace = (time.monotonic() - set_started) / len(sent)


def _send_set(claimed: list[Claimed]) -> tuple[list[tuple[_Started, transport.HttpResult]], list[Claimed]]:
    """POST a claimed set in sequence order on this thread; stop at a receiver that does not answer, or
    once half the claims' lease has passed (a receiver that slowed down: the rest are given back).

    Within a turn the receiver has just answered at once: no hand-off (it costs two thread switches
    per delivery); should it hang now, this thread waits one timeout. Returns what was sent and
    what is left unsent.
    """
    sent = []
    # The set's claims were taken just now; the last of them must be sent well within their lease.
    send_until = time.monotonic() + turns.claim_lease().total_seconds() / 2
    for index, one in enumerate(claimed):
        started = _request_for(one, None)
        result = _post(started)
        sent.append((started, result))
        if breaker.no_answer(result.error, result.status_code) or time.monotonic() > send_until:
            return sent, claimed[index + 1 :]
    return sent, []


def _finish_set(
    sent: list[tuple[_Started, transport.HttpResult]],
    unsent: list[Claimed],
    *,
    keep_turn: bool,
    after: AfterMessage,
    set_size: int,
) -> list[Claimed]:
    """Count the answers in the breaker, record the set and claim the next one (or hand the slot on).

    What was claimed but not sent is given back first, so the next claim takes it again in order.
    """
    now = timezone.now()
    if unsent:
        sets.give_back(unsent)
    resumed = _note_breakers(sent, now)
    return _record_noted(sent, now, keep_turn=keep_turn, resumed=resumed, after=after, set_size=set_size)


def _record_noted(
    sent: list[tuple[_Started, transport.HttpResult]],
    now: datetime,
    *,
    keep_turn: bool,
    resumed: bool,
    after: AfterMessage,
    set_size: int,
) -> list[Claimed]:
    """Record a set whose answers the breaker has counted, and what that sets off; the next set (of up to
    `set_size`) claimed."""
    try:
        with _savepoint():
            recorded = sets.record_set(
                _as_sent(sent), now=now, keep_turn=keep_turn, health_notes=after.notes, set_size=set_size
            )
    except Exception as exc:
        recorded = _unrecordable_set(sent, now, exc)
        keep_turn = False
    return _after_set(sent, recorded, keep_turn=keep_turn, resumed=resumed, after=after)


def _first_sets(answered: list[tuple[_Started, transport.HttpResult]], after: AfterMessage) -> list[list[Claimed]]:
    """`_finish_set(…, keep_turn=True)` for the first delivery of each of several endpoints, recorded
    in one round trip where it can be (else one by one); each endpoint's next set claimed, in order."""
    now = timezone.now()
    resumed = [_note_breakers([one], now) for one in answered]
    try:
        recorded = sets.record_sets_keeping_turns([_as_sent([one]) for one in answered], now=now, health_notes=after.notes)
    except Exception:  # nothing was written: each is recorded alone, with its own fallbacks
        logger.warning("recording %s answers together failed; recording each alone", len(answered), exc_info=True)
        recorded = None
    if recorded is None:  # the breaker has counted them already
        return [
            _record_noted([one], now, keep_turn=True, resumed=was_resumed, after=after, set_size=turns.first_set_size())
            for one, was_resumed in zip(answered, resumed)
        ]
    return [
        _after_set([one], each, keep_turn=True, resumed=was_resumed, after=after)
        for one, each, was_resumed in zip(answered, recorded, resumed)
    ]


def _as_sent(sent: list[tuple[_Started, transport.HttpResult]]) -> list[sets.Sent]:
    return [sets.Sent(started.claimed, result, started.started_at) for started, result in sent]


def _note_breakers(sent: list[tuple[_Started, transport.HttpResult]], now: datetime) -> bool:
    """Count the answers in the endpoint's breaker; True when one of them resumed it."""
    resumed = False
    for started, result in sent:
        resumed = _note_breaker(started, result, now) or resumed
    return resumed


def _unrecordable_set(sent: list[tuple[_Started, transport.HttpResult]], now: datetime, exc: Exception) -> sets.SetRecorded:
    logger.exception("a set of %s deliveries could not be recorded as answered", len(sent))
    for started, result in sent:
        _record_unrecordable(started, result, now, exc)
    return sets.SetRecorded([])


def _after_set(
    sent: list[tuple[_Started, transport.HttpResult]],
    recorded: sets.SetRecorded,
    *,
    keep_turn: bool,
    resumed: bool,
    after: AfterMessage,
) -> list[Claimed]:
    """What a recorded set sets off: the slot's next message, a look after a freed slot, a resumed endpoint's wake."""
    endpoint_id = sent[0][0].claimed.endpoint.pk
    if recorded.following is not None and not keep_turn:
        deliveries_due.fire_on_commit([recorded.following])
    elif not recorded.claimed and recorded.following is None:
        after.freed_endpoints.append(endpoint_id)
    if resumed:
        _wake_after_commit(endpoint_id)
    return recorded.claimed


def _start(delivery_id: str, now: datetime | None, after: AfterMessage) -> _Started | None:
    claimed = claims.claim_and_load(delivery_id, now or timezone.now())
    if claimed is None:
        # Its statement may have held a free slot locked while a recording looked for one.
        after.unclaimed.append(delivery_id)
        return None
    return _prepare(claimed, now)


def _prepare(claimed: Claimed, now: datetime | None) -> _Started | None:
    """The request for a claimed delivery; None (and the claim given back) when its endpoint was disabled meanwhile."""
    if not claimed.endpoint.enabled and not claimed.delivery.is_ping:
        # Disabled while queued: keep it pending; re-enabling resumes it.
        following = claims.release(claimed, now=now or timezone.now())
        if following is not None:
            deliveries_due.fire_on_commit([following])
        return None
    return _request_for(claimed, now)


def _request_for(claimed: Claimed, now: datetime | None) -> _Started:
    delivery, endpoint, event, slug = claimed.delivery, claimed.endpoint, claimed.event, claimed.tenant_slug
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

    return _Started(claimed=claimed, started_at=started_at, request=request)


def _post(started: _Started) -> transport.HttpResult:
    try:
        return started.request()
    except Exception as exc:
        # Recorded as a failed attempt, so the schedule moves on instead of the lease expiring forever.
        logger.exception("delivery %s could not be sent", started.claimed.delivery.pk)
        return transport.HttpResult(None, {}, "", f"could not send: {type(exc).__name__}", 0)


def _finish_later(started: _Started, result: transport.HttpResult) -> object:
    """Record the answer of a POST that was handed off to a send thread, when it comes."""
    after = AfterMessage()
    try:
        return _finish(started, result, None, after)
    finally:
        after.finish()


def _finish(started: _Started, result: transport.HttpResult, now: datetime | None, after: AfterMessage) -> Recorded:
    """Count the answer in the breaker, record the attempt and hand the slot on (webhooks/engine/record.py).

    The delivery the slot now waits for gets a broker message.
    """
    finished_at = timezone.now() if now is None else now
    resumed = False
    try:
        with _savepoint():
            resumed = _note_breaker(started, result, finished_at)
            recorded = record_attempt(
                started.claimed, result, started_at=started.started_at, now=finished_at, health_notes=after.notes
            )
    except Exception as exc:
        # Whatever the answer held, the attempt must end: a delivery left `sending` would be sent
        # again each time its lease ran out, forever, and its endpoint never counted as failing.
        logger.exception("delivery %s: the attempt could not be recorded as answered", started.claimed.claim.delivery_id)
        recorded = _record_unrecordable(started, result, finished_at, exc)
    if recorded.following is not None:
        deliveries_due.fire_on_commit([recorded.following])
    elif started.claimed.claim.slot_id is not None:
        after.freed_endpoints.append(started.claimed.endpoint.pk)
    if resumed:
        _wake_after_commit(started.claimed.endpoint.pk)
    return recorded


def _note_breaker(started: _Started, result: transport.HttpResult, now: datetime) -> bool:
    """Count the answer in the endpoint's circuit breaker (deliveries under a slot only); True when it resumed."""
    claim = started.claimed.claim
    if claim.slot_id is None:
        return False
    return breaker.note_outcome(
        endpoint_id=started.claimed.endpoint.pk,
        failures_before=claim.consecutive_failures,
        status_code=result.status_code,
        error=result.error,
        now=now,
    )


def _catch_up_after_free(*, endpoint_ids: list[str], delivery_ids: list[str]) -> None:
    """Slots were freed, or left free, with nothing due: a delivery recorded meanwhile gets its message now, not at the sweep."""
    if not endpoint_ids and not delivery_ids:
        return
    try:
        with _savepoint():
            woken = wake.after_slots_freed(endpoint_ids=endpoint_ids, delivery_ids=delivery_ids, now=timezone.now())
    except DatabaseError as exc:  # the sweep still finds it
        logger.warning("catching up after freed slots failed (%s, %s): %s", endpoint_ids, delivery_ids, type(exc).__name__)
        return
    if woken:
        deliveries_due.fire_on_commit(woken)


def _wake_after_commit(endpoint_id: str) -> None:
    """The probe was answered: the endpoint's other slots start again at once."""
    after_commit(lambda: deliveries_due.fire(wake.wake_endpoint(endpoint_id=endpoint_id, now=timezone.now())))


def _savepoint() -> Any:
    """A savepoint inside a caller's transaction (so a failed statement leaves it usable), else nothing."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def _record_unrecordable(started: _Started, result: transport.HttpResult, now: datetime, exc: Exception) -> Recorded:
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
    last: Exception = exc
    for fallback in fallbacks:
        try:
            with _savepoint():
                return record_attempt(started.claimed, fallback, started_at=started.started_at, now=now)
        except Exception as again:
            last = again
            logger.warning(
                "delivery %s: recording the attempt as an error failed too: %s",
                started.claimed.delivery.pk,
                type(again).__name__,
            )
    raise last
