"""Resolving signals into their needs, a batch at a time: worker or cohort, course or author.

One implementation serves a batch claimed by a worker and a single signal (its first resolution
or the retry of one that failed): claim the signals, lock their needs, match every worker with
one query per key kind and every topic with one query, write the needs and their `need.created`
events in set-based statements, commit once.

The claim is a conditional UPDATE over `FOR UPDATE SKIP LOCKED` rows in the transaction that does
the work, so concurrent workers and schedulers take disjoint batches and a signal is resolved
exactly once. The claim lives as long as that transaction: a worker killed mid-batch loses its
connection and PostgreSQL hands the rows back at once; one that hangs is cut off after
CLAIM_LEASE (`skillhub.leases.Lease.hold_transaction`), which releases them too.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from learning.models import Learner
from learning.selectors import course_match_topics, learners_find_many
from signals_inbox.events import need_data
from signals_inbox.models import ACTIVE_NEED_STATUSES, InboxSettings, Need, NeedAction, Signal, Target
from signals_inbox.services.audit import audit_record
from signals_inbox.services.needs import auto_author_maybe
from skillhub import metrics
from skillhub.db import uses_postgres_statements
from skillhub.leases import Lease
from tenants.models import Tenant
from webhooks.outbox import record_events

logger = logging.getLogger("skillhub.signals")

CLAIM_LEASE = Lease(fixed_seconds=60)
# A signal whose resolution failed is left to its own retries for this long before a batch takes it again.
RETRY_DELAY = timedelta(minutes=10)
WORKER_KEYS = ("external_worker_id", "email", "learner_id")

_S = Signal._meta.db_table
_N = Need._meta.db_table


@dataclass
class Claimed:
    """A claimed signal: just what resolution reads."""

    id: str
    tenant_id: uuid.UUID
    need_id: uuid.UUID
    data: dict[str, Any]
    received_at: Any


@dataclass
class BatchOutcome:
    """What a batch did: signals claimed, needs resolved (need.created), needs re-matched, signals that failed."""

    claimed: int = 0
    resolved_needs: int = 0
    rematched: int = 0
    failed: list[str] = field(default_factory=list)


def batch_size() -> int:
    return int(settings.SIGNALS_RESOLVE_BATCH)


# --- entry points -------------------------------------------------------------------------------


def signal_resolve(*, signal_id: str) -> bool:
    """Resolve one signal (its first resolution or a retry); False if it was already resolved.

    Same rules as a batch, of one. An error propagates, so the caller (an actor) retries it.
    """
    try:
        outcome = _resolve(signal_ids=[signal_id], limit=1, isolate=False)
    except Exception:
        _postpone([signal_id])
        raise
    return outcome.claimed == 1


def signals_resolve_batch(*, limit: int | None = None, signal_ids: Sequence[str] | None = None) -> BatchOutcome:
    """Claim up to `limit` unresolved signals (these ids, or the oldest due ones), resolve them, commit once.

    A signal whose resolution raises does not stop the others: it is released with `retry_at` set
    and listed in `failed`, for the caller to retry on its own. If the batch's own statements
    fail, each of its signals is resolved on its own instead.
    """
    limit = limit or batch_size()
    try:
        return _resolve(signal_ids=signal_ids, limit=limit, isolate=True)
    except Exception:  # a statement of the batch failed (the transaction is rolled back): go one by one
        logger.exception("a batch of signal resolutions failed; resolving them one by one")
    outcome = BatchOutcome()
    for signal_id in _due_ids(signal_ids=signal_ids, limit=limit):
        try:
            one = _resolve(signal_ids=[signal_id], limit=1, isolate=False)
        except Exception:
            logger.exception("resolving %s failed; it is retried on its own", signal_id)
            _postpone([signal_id])
            outcome.failed.append(signal_id)
            continue
        outcome.claimed += one.claimed
        outcome.resolved_needs += one.resolved_needs
        outcome.rematched += one.rematched
    return outcome


# --- the batch ----------------------------------------------------------------------------------


def _resolve(*, signal_ids: Sequence[str] | None, limit: int, isolate: bool) -> BatchOutcome:
    outcome = BatchOutcome()
    with transaction.atomic():
        now = timezone.now()
        claimed = _claim(signal_ids=signal_ids, limit=limit, now=now)
        outcome.claimed = len(claimed)
        by_tenant: dict[uuid.UUID, list[Claimed]] = defaultdict(list)
        for signal in sorted(claimed, key=lambda s: (s.received_at, s.id)):
            by_tenant[signal.tenant_id].append(signal)
        for tenant_id, signals in by_tenant.items():
            _resolve_tenant(tenant_id=tenant_id, signals=signals, now=now, isolate=isolate, outcome=outcome)
        if outcome.failed:
            _release(outcome.failed)
    failed = set(outcome.failed)
    metrics.signals_resolved(received=[s.received_at for s in claimed if s.id not in failed], now=now)
    return outcome


def _claim(*, signal_ids: Sequence[str] | None, limit: int, now: datetime) -> list[Claimed]:
    """Mark up to `limit` unresolved signals resolved in this transaction and return them."""
    if signal_ids is not None and not signal_ids:
        return []
    # Named ids are taken whatever their retry time (that is how a failed one is retried); a batch takes due ones.
    which = "id IN (" + ", ".join(["%s"] * len(signal_ids)) + ")" if signal_ids else "(retry_at IS NULL OR retry_at <= %s)"
    params: list[Any] = list(signal_ids) if signal_ids else [now]
    postgres = uses_postgres_statements()
    with connection.cursor() as cursor:
        if postgres:
            CLAIM_LEASE.hold_transaction(cursor)
            # A CTE that locks rows is evaluated once: an IN (subquery) may be rescanned and, among rows
            # received at the same instant, pick a different LIMIT each time.
            cursor.execute(
                f"WITH claim AS (SELECT id FROM {_S} WHERE resolved_at IS NULL AND {which} ORDER BY received_at "
                f"LIMIT %s FOR UPDATE SKIP LOCKED) UPDATE {_S} AS s SET resolved_at = %s FROM claim WHERE s.id = claim.id "
                "RETURNING s.id, s.tenant_id, s.need_id, s.data, s.received_at",
                [*params, limit, connection.ops.adapt_datetimefield_value(now)],
            )
        else:  # one writer at a time: the subquery and the update see the same rows
            cursor.execute(
                f"UPDATE {_S} SET resolved_at = %s WHERE id IN (SELECT id FROM {_S} WHERE resolved_at IS NULL AND {which} "
                "ORDER BY received_at LIMIT %s) AND resolved_at IS NULL RETURNING id, tenant_id, need_id, data, received_at",
                [connection.ops.adapt_datetimefield_value(now), *params, limit],
            )
        rows = cursor.fetchall()
    return [
        Claimed(id=pk, tenant_id=_as_uuid(tenant_id), need_id=_as_uuid(need_id), data=_as_dict(data), received_at=received)
        for pk, tenant_id, need_id, data, received in rows
    ]


@dataclass
class _Resolved:
    """What resolving a tenant's share of a batch changed, to be written in sets."""

    created: list[Need] = field(default_factory=list)
    rematched: list[Need] = field(default_factory=list)
    events: list[tuple[dict[str, Any], str, str]] = field(default_factory=list)


def _resolve_tenant(*, tenant_id: uuid.UUID, signals: list[Claimed], now: datetime, isolate: bool, outcome: BatchOutcome) -> None:
    tenant = Tenant.objects.get(pk=tenant_id)
    # Locked in id order (one statement), so batches sharing needs queue instead of deadlocking.
    needs = {need.pk: need for need in Need.objects.select_for_update(of=("self",)).filter(pk__in={s.need_id for s in signals}).order_by("pk")}
    signals_of: dict[uuid.UUID, list[Claimed]] = defaultdict(list)
    for signal in signals:
        signals_of[signal.need_id].append(signal)
    fresh, parked = _fresh_and_parked(needs.values())
    learner_of = _learners_of(tenant, fresh, parked, signals_of)
    courses = course_match_topics(tenant=tenant, topics={need.topic for need in fresh})
    resolved = _Resolved()
    for need in fresh + parked:
        try:
            _resolve_need(need, learner_of.get(need.pk), courses, now, resolved)
        except Exception:
            if not isolate:
                raise
            logger.exception("resolving need %s failed; its signals are retried on their own", need.pk)
            outcome.failed += [signal.id for signal in signals_of[need.pk]]
    _write_needs(resolved.created + resolved.rematched)
    if resolved.events:
        record_events(tenant=tenant, event_type="need.created", items=resolved.events)
    for need in resolved.rematched:
        audit_record(tenant=tenant, need=need, actor="system:rematch", action="matched", details={"learnerId": str(need.learner_id)})
    _auto_author(tenant=tenant, created=resolved.created)
    outcome.resolved_needs += len(resolved.created)
    outcome.rematched += len(resolved.rematched)


def _fresh_and_parked(needs: Iterable[Need]) -> tuple[list[Need], list[Need]]:
    """The needs not resolved yet, and the resolved ones still waiting for their worker to be found."""
    fresh = [need for need in needs if need.resolved_at is None]
    parked = [
        need for need in needs
        if need.resolved_at is not None and need.target == Target.UNMATCHED and need.status in ACTIVE_NEED_STATUSES
    ]
    return fresh, parked


def _learners_of(
    tenant: Tenant, fresh: list[Need], parked: list[Need], signals_of: dict[uuid.UUID, list[Claimed]]
) -> dict[uuid.UUID, Learner | None]:
    """The learner each need names, found in one lookup per key kind for every worker the batch names.

    A fresh need is looked up by its first signal; a parked one by every signal (any of them may match now).
    """
    asks: list[tuple[Need, dict[str, str]]] = [(need, worker_keys(signals_of[need.pk][0].data)) for need in fresh if need.worker_ref]
    asks += [(need, worker_keys(signal.data)) for need in parked for signal in signals_of[need.pk]]
    found = learners_find_many(tenant=tenant, keys=[keys for _need, keys in asks])
    learner_of: dict[uuid.UUID, Learner | None] = {}
    for (need, _keys), learner in zip(asks, found):
        if learner_of.get(need.pk) is None:
            learner_of[need.pk] = learner
    return learner_of


def _resolve_need(need: Need, learner: Learner | None, courses: dict[str, Any], now: datetime, resolved: _Resolved) -> None:
    """Resolve a fresh need, or attach a parked one to the learner it now matches (in memory)."""
    if need.resolved_at is None:
        apply_resolution(need=need, learner=learner, course_match=courses[need.topic], now=now)
        resolved.events.append((dict(need_data(need)), "need", str(need.pk)))
        resolved.created.append(need)
    elif learner is not None:
        attach_learner(need=need, learner=learner, now=now)
        resolved.rematched.append(need)


# --- the rules (one implementation for every path) ----------------------------------------------


def worker_keys(data: dict[str, Any]) -> dict[str, str]:
    """Return the worker keys a signal's data gives, as text ("" when absent or not a scalar)."""
    keys = {}
    for key in WORKER_KEYS:
        value = data.get(key)
        keys[key] = "" if value is None or isinstance(value, (bool, dict, list)) else str(value).strip()
    return keys


def apply_resolution(*, need: Need, learner: Learner | None, course_match: tuple[Any, str], now: datetime) -> None:
    """Resolve a need in memory: worker (or unmatched) or cohort, then the course or "author one"."""
    if need.worker_ref:
        need.learner = learner
        need.target = Target.WORKER if learner is not None else Target.UNMATCHED
        if learner is not None and not need.site_name and learner.site is not None:
            need.site_name = learner.site.name
    else:
        need.target = Target.COHORT
    course, match = course_match
    need.recommended_course = course
    need.match = match
    need.action = NeedAction.OFFER if course is not None else NeedAction.AUTHOR
    need.resolved_at = now
    need.updated_at = now


def attach_learner(*, need: Need, learner: Learner, now: datetime) -> None:
    """Attach a parked (unmatched) need to the learner it names, in memory."""
    need.learner = learner
    need.target = Target.WORKER
    if not need.site_name and learner.site is not None:
        need.site_name = learner.site.name
    need.updated_at = now


_NEED_COLUMNS = ("target", "learner_id", "site_name", "recommended_course_id", "match", "action", "resolved_at", "updated_at")


def _write_needs(needs: list[Need]) -> None:
    """Write the resolution columns of these (locked) needs: one statement on PostgreSQL."""
    if not needs:
        return
    if not uses_postgres_statements():
        Need.objects.bulk_update(needs, ["target", "learner", "site_name", "recommended_course", "match", "action", "resolved_at", "updated_at"])
        return
    row = "(%s::uuid, %s, %s::uuid, %s, %s::uuid, %s, %s, %s::timestamptz, %s::timestamptz)"
    params: list[Any] = []
    for need in needs:
        params += [
            str(need.pk), need.target, _text_or_none(need.learner_id), need.site_name, _text_or_none(need.recommended_course_id),
            need.match, need.action, need.resolved_at, need.updated_at,
        ]  # fmt: skip
    assignments = ", ".join(f"{column} = v.{column}" for column in _NEED_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_N} AS n SET {assignments} FROM (VALUES {', '.join([row] * len(needs))}) "
            f"AS v(id, {', '.join(_NEED_COLUMNS)}) WHERE n.id = v.id",
            params,
        )


def _auto_author(*, tenant: Tenant, created: list[Need]) -> None:
    """Evaluate the auto-author threshold once per topic of the batch's new "author one" needs."""
    waiting: dict[str, Need] = {}
    for need in created:
        if need.action == NeedAction.AUTHOR:
            waiting.setdefault(need.topic_key, need)
    if not waiting or not InboxSettings.objects.filter(tenant=tenant, auto_author=True).exists():
        return
    for need in waiting.values():
        auto_author_maybe(tenant=tenant, need=need)


# --- helpers ------------------------------------------------------------------------------------


def _due_ids(*, signal_ids: Sequence[str] | None, limit: int) -> list[str]:
    pending = Signal.objects.filter(resolved_at__isnull=True)
    if signal_ids is not None:
        return list(pending.filter(pk__in=list(signal_ids)).values_list("pk", flat=True))
    now = timezone.now()
    due = pending.exclude(retry_at__gt=now).order_by("received_at")
    return list(due.values_list("pk", flat=True)[:limit])


def _release(signal_ids: list[str]) -> None:
    """Hand claimed signals that failed back, unresolved, out of the batches' way until RETRY_DELAY has passed."""
    Signal.objects.filter(pk__in=signal_ids).update(resolved_at=None, retry_at=timezone.now() + RETRY_DELAY)


def _postpone(signal_ids: list[str]) -> None:
    """After a failed (rolled back) attempt: keep batches away from these signals until RETRY_DELAY has passed."""
    Signal.objects.filter(pk__in=signal_ids, resolved_at__isnull=True).update(retry_at=timezone.now() + RETRY_DELAY)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
