"""The assignment lifecycle: the tenant's expiring window, and the sweep that announces expiring and expired assignments.

The sweep is safe to run from any number of `run_scheduler` processes at once and after any restart:
each batch locks the rows it takes (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and marks them in the
same transaction that records their events, so an assignment is announced expiring once per due
date and expired once, whoever runs the sweep.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Mapping

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from learning.events import assignment_expired_data
from learning.models import Assignment, AssignmentStatus, Course
from learning.training.events import assignment_expiring_data
from learning.training.models import TrainingSettings
from skillhub.db import uses_postgres_statements
from skillhub.leases import Lease
from skillhub.errors import ValidationFailed
from tenants.models import Tenant
from webhooks.outbox import record_events

LIVE = (AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED)
DEFAULT_WINDOW = (0, 8)  # more than 0 and fewer than 8 days left: the last week
BATCH = 1000


@dataclass(frozen=True)
class SweepResult:
    expiring: int
    expired: int


def training_settings_get(*, tenant: Tenant) -> TrainingSettings:
    """Return the tenant's training settings (the defaults when none were saved)."""
    found = TrainingSettings.objects.filter(tenant=tenant).first()
    if found is not None:
        return found
    more, fewer = DEFAULT_WINDOW
    return TrainingSettings(tenant=tenant, expiring_more_than_days=more, expiring_fewer_than_days=fewer)


def training_settings_set(*, tenant: Tenant, more_than_days: int, fewer_than_days: int, enabled: bool = True) -> TrainingSettings:
    """Set the expiring window: `assignment.expiring` when an assignment has more than X and fewer than Y days left."""
    errors: dict[str, str] = {}
    for field, value in (("more_than_days", more_than_days), ("fewer_than_days", fewer_than_days)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 366:
            errors[field] = "a whole number of days from 0 to 366"
    if not errors and fewer_than_days - more_than_days < 2:
        errors["fewer_than_days"] = "must be at least 2 more than moreThanDays, so some whole day lies between them"
    if errors:
        raise ValidationFailed(errors)
    settings, _ = TrainingSettings.objects.update_or_create(
        tenant=tenant,
        defaults={
            "expiring_more_than_days": more_than_days,
            "expiring_fewer_than_days": fewer_than_days,
            "expiring_enabled": bool(enabled),
        },
    )
    return settings


# How long a sweep may hold the rows it locked (skillhub/leases.py).
SWEEP_LEASE = Lease(fixed_seconds=60)

_RETURNED = (
    "id", "tenant_id", "learner_id", "course_id", "due_date", "status", "source", "assigned_by",
    "started_at", "completed_at", "expiring_notice_for", "created_at", "updated_at",
)


def _claim_postgresql(candidates: QuerySet[Assignment], mark: dict[str, Any]) -> list[Assignment]:
    """One statement: lock up to BATCH candidates no other sweep holds (SKIP LOCKED), mark them, return them."""
    picked = candidates.select_for_update(skip_locked=True, of=("self",)).order_by("due_date", "id").values("pk")[:BATCH]
    sub_sql, sub_params = picked.query.sql_with_params()
    sets: list[str] = []
    params: list[Any] = []
    for field, value in mark.items():
        if isinstance(value, F):
            sets.append(f"{field} = {value.name}")  # type: ignore[attr-defined]  # F keeps the referenced column in .name
        else:
            sets.append(f"{field} = %s")
            params.append(value)
    table = Assignment._meta.db_table
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE id IN ({sub_sql}) RETURNING {', '.join(_RETURNED)}"
    with connection.cursor() as cursor:
        SWEEP_LEASE.hold_transaction(cursor)  # a sweep killed mid-batch gives its rows back within the lease
        cursor.execute(sql, [*params, *sub_params])
        rows = cursor.fetchall()
    return [Assignment(**dict(zip(_RETURNED, row))) for row in rows]


def _claim(candidates: QuerySet[Assignment], mark: dict[str, object]) -> list[Assignment]:
    """Take up to BATCH rows of `candidates` no other sweep holds, apply `mark`, and return them with their course and tenant."""
    if uses_postgres_statements():
        taken = _claim_postgresql(candidates, mark)
    else:
        # SQLite has one writer at a time; a conditional UPDATE per row says which rows this sweep took.
        picked = list(candidates.order_by("due_date", "id").values_list("pk", flat=True)[:BATCH])
        ids = [pk for pk in picked if candidates.filter(pk=pk).update(**mark)]
        taken = list(Assignment.objects.filter(pk__in=ids))
    courses = Course.objects.in_bulk({a.course_id for a in taken})
    tenants = Tenant.objects.in_bulk({a.tenant_id for a in taken})
    for assignment in taken:
        assignment.course = courses[assignment.course_id]
        assignment.tenant = tenants[assignment.tenant_id]
    return sorted(taken, key=lambda a: (a.due_date, a.pk))


def _record_all(taken: list[Assignment], event_type: str, build: Callable[[Assignment], Mapping[str, Any]]) -> None:
    """Record one event per assignment, tenant by tenant, with one INSERT per tenant."""
    by_tenant: dict[Any, list[Assignment]] = defaultdict(list)
    for assignment in taken:
        by_tenant[assignment.tenant_id].append(assignment)
    for rows in by_tenant.values():
        items = [(build(a), "assignment", str(a.pk)) for a in rows]
        record_events(tenant=rows[0].tenant, event_type=event_type, items=items)


def _expire_batch(today: date) -> int:
    with transaction.atomic():
        now = timezone.now()
        taken = _claim(
            Assignment.objects.filter(status__in=LIVE, due_date__lt=today),
            {"status": AssignmentStatus.EXPIRED, "updated_at": now},
        )
        _record_all(taken, "assignment.expired", assignment_expired_data)
    return len(taken)


def _windows() -> tuple[dict[tuple[int, int], list[object]], list[object]]:
    """Return the tenants with their own window, grouped by it, and every tenant the default window does not apply to."""
    custom: dict[tuple[int, int], list[object]] = defaultdict(list)
    not_default: list[object] = []
    rows = TrainingSettings.objects.values_list("tenant_id", "expiring_enabled", "expiring_more_than_days", "expiring_fewer_than_days")
    for tenant_id, enabled, more, fewer in rows:
        if enabled and (more, fewer) == DEFAULT_WINDOW:
            continue
        not_default.append(tenant_id)
        if enabled:
            custom[(more, fewer)].append(tenant_id)
    return custom, not_default


def _expiring_candidates(today: date, window: tuple[int, int], tenants: Iterable[Any] | None, exclude: Iterable[Any]) -> QuerySet[Assignment]:
    more, fewer = window
    candidates = Assignment.objects.filter(
        status__in=LIVE, due_date__gt=today + timedelta(days=more), due_date__lt=today + timedelta(days=fewer)
    ).filter(Q(expiring_notice_for__isnull=True) | ~Q(expiring_notice_for=F("due_date")))
    if tenants is not None:
        candidates = candidates.filter(tenant_id__in=list(tenants))
    excluded = list(exclude)
    return candidates.exclude(tenant_id__in=excluded) if excluded else candidates


def _announce_batch(today: date, candidates: QuerySet[Assignment]) -> int:
    with transaction.atomic():
        taken = _claim(candidates, {"expiring_notice_for": F("due_date")})
        _record_all(taken, "assignment.expiring", lambda assignment: assignment_expiring_data(assignment, today=today))
    return len(taken)


def assignments_sweep(*, today: date | None = None, progress: object = None) -> SweepResult:
    """Announce assignments entering their tenant's expiring window and expire those past due, in batches."""
    today = today or timezone.localdate()
    custom, not_default = _windows()
    plans = [_expiring_candidates(today, DEFAULT_WINDOW, None, not_default)]
    plans += [_expiring_candidates(today, window, tenants, ()) for window, tenants in custom.items()]
    expiring = 0
    for candidates in plans:
        while (taken := _announce_batch(today, candidates)) > 0:
            expiring += taken
            if callable(progress):
                progress("expiring", expiring)
    expired = 0
    while (taken := _expire_batch(today)) > 0:
        expired += taken
        if callable(progress):
            progress("expired", expired)
    return SweepResult(expiring=expiring, expired=expired)


def assignments_expire(*, today: date | None = None) -> int:
    """Expire every live assignment past its due date (`assignment.expired`); return how many."""
    today = today or timezone.localdate()
    expired = 0
    while (taken := _expire_batch(today)) > 0:
        expired += taken
    return expired
