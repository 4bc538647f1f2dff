"""Per-tenant retention: the policy (API and console) and the sweep that removes expired history.

The sweep groups tenants by policy, so a thousand tenants on the defaults cost one pass, and asks
each app to remove its own expired rows in small batches (webhooks/retention.py,
signals_inbox/retention.py). It records the cutoff it applied, so the delivery log and the API
can say plainly that older records were removed.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from django.db.models import Q
from django.utils import timezone

from skillhub.errors import ValidationFailed
from skillhub.tasks import import_app_modules
from skillhub.formats import iso
from tenants.models import RetentionPolicy, Tenant

logger = logging.getLogger("skillhub.retention")

# The longest a record can be kept by a policy: ten years.
MAX_DAYS = 3650
# What the API and console call each kind of record, and the policy's field for it.
KINDS = {
    "attemptsDays": "attempts_days",
    "deliveriesDays": "deliveries_days",
    "signalsDays": "signals_days",
    "auditDays": "audit_days",
}


def policy_get(*, tenant: Tenant) -> RetentionPolicy:
    """Return the tenant's retention policy (the defaults when it never set one; not saved)."""
    return RetentionPolicy.objects.filter(tenant=tenant).first() or RetentionPolicy(tenant=tenant)


def clean_days(values: dict[str, Any], *, partial: bool = False) -> dict[str, int | None]:
    """Validate API values (`attemptsDays` …) into policy fields; every bad field is listed."""
    errors: dict[str, str] = {}
    unknown = sorted(set(values) - set(KINDS))
    for name in unknown:
        errors[name] = f"unknown field; expected {', '.join(KINDS)}"
    cleaned: dict[str, int | None] = {}
    for name, field in KINDS.items():
        if name not in values:
            if not partial and name != "auditDays":
                errors[name] = "required"
            continue
        value = values[name]
        if value is None and name == "auditDays":
            cleaned[field] = None  # audit events kept
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            errors[name] = f"must be a whole number of days from 1 to {MAX_DAYS}" + (" (or null: kept)" if name == "auditDays" else "")
            continue
        cleaned[field] = value
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def policy_update(*, tenant: Tenant, values: dict[str, int | None]) -> RetentionPolicy:
    """Set the tenant's retention; the next sweep applies it."""
    policy, _ = RetentionPolicy.objects.get_or_create(tenant=tenant)
    for field, value in values.items():
        setattr(policy, field, value)
    policy.save()
    return policy


def policy_json(policy: RetentionPolicy) -> dict[str, Any]:
    """The API representation: the days kept and what the sweep has removed so far."""
    return {
        "attemptsDays": policy.attempts_days,
        "deliveriesDays": policy.deliveries_days,
        "signalsDays": policy.signals_days,
        "auditDays": policy.audit_days,
        "removedBefore": {
            "attempts": iso(policy.attempts_removed_before),
            "deliveries": iso(policy.deliveries_removed_before),
            "signals": iso(policy.signals_removed_before),
            "audit": iso(policy.audit_removed_before),
        },
        "neverRemoved": "pending deliveries and the signals of open needs",
    }


def removal_note(policy: RetentionPolicy, *, kinds: tuple[str, ...] = ("deliveries", "attempts")) -> str | None:
    """A plain sentence saying which records retention has removed, or None when it has removed none yet."""
    parts = []
    for kind in kinds:
        removed_before = getattr(policy, f"{kind}_removed_before")
        if removed_before is not None:
            days = getattr(policy, f"{kind}_days")
            parts.append(f"{kind} older than {timezone.localtime(removed_before):%Y-%m-%d %H:%M} ({days} days)")
    if not parts:
        return None
    return "Removed by the retention policy: " + "; ".join(parts) + "."


@dataclass
class SweepResult:
    removed: dict[str, int]
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.removed.values())


@dataclass(frozen=True)
class Remover:
    """One kind of record an app removes: `func(tenant_ids=…, before=…, batch=…)` for the tenants of a policy group.

    With no `field` the kind is not per tenant: `func(before=now - keep)` runs once. `prune(before=…)`,
    when given, first removes in bulk what is past every group's cutoff (PostgreSQL partitions).
    """

    kind: str
    field: str | None
    func: Callable[..., int]
    order: int
    keep: timedelta = timedelta(0)
    prune: Callable[..., int] | None = None


# Filled by each app's `retention` module (found by name, like the sweeps), so this module imports none of them.
REMOVERS: dict[str, Remover] = {}


def remover(
    kind: str, *, field: str | None, order: int, keep: timedelta = timedelta(0), prune: Callable[..., int] | None = None
) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Register an app's function removing one kind of expired record (see Remover)."""

    def register(func: Callable[..., int]) -> Callable[..., int]:
        REMOVERS[kind] = Remover(kind=kind, field=field, func=func, order=order, keep=keep, prune=prune)
        return func

    return register


def _groups(field: str) -> dict[int, list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for tenant_id, days in RetentionPolicy.objects.exclude(**{f"{field}__isnull": True}).values_list("tenant_id", field):
        groups[days].append(tenant_id)
    return groups


def _stamp(field: str, tenant_ids: list[Any], cutoff: datetime) -> None:
    stamp = f"{field.removesuffix('_days')}_removed_before"
    # Never moved back: two sweeps at once may finish in either order.
    newer = Q(**{f"{stamp}__isnull": True}) | Q(**{f"{stamp}__lt": cutoff})
    RetentionPolicy.objects.filter(newer, tenant_id__in=tenant_ids).update(**{stamp: cutoff})


def sweep(*, now: datetime | None = None, batch: int = 5000) -> SweepResult:
    """Remove every tenant's expired history, kind by kind, in batches; safe to run on several machines at once."""
    import_app_modules("retention")
    started = time.monotonic()
    now = now or timezone.now()
    # Every tenant gets its policy row (the defaults), so it can be grouped and stamped.
    missing = Tenant.objects.filter(retention__isnull=True).values_list("pk", flat=True)
    RetentionPolicy.objects.bulk_create([RetentionPolicy(tenant_id=pk) for pk in missing], ignore_conflicts=True)
    tenants = Tenant.objects.count()
    removed: dict[str, int] = defaultdict(int)
    for item in sorted(REMOVERS.values(), key=lambda r: r.order):
        if item.field is None:
            removed[item.kind] += item.func(before=now - item.keep)
            continue
        groups = _groups(item.field)
        # What is past the longest policy is past every tenant's: removed whole where the app can.
        pruned = item.prune(before=now - timedelta(days=max(groups))) if item.prune and groups else 0
        removed[item.kind] += pruned
        for days, tenant_ids in groups.items():
            cutoff = now - timedelta(days=days)
            count = item.func(tenant_ids=tenant_ids, before=cutoff, batch=batch, every_tenant=len(tenant_ids) == tenants)
            removed[item.kind] += count
            if (count or pruned) and item.kind in STAMPED:
                _stamp(item.field, tenant_ids, cutoff)
    result = SweepResult(removed=dict(removed), seconds=time.monotonic() - started)
    if result.total:
        logger.info("retention sweep removed %s in %.1f s", result.removed, result.seconds)
    return result


# The kinds whose cutoff the API and the console report (events go with their deliveries).
STAMPED = ("attempts", "deliveries", "signals", "audit")
