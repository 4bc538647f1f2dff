"""Periodic sweeps of the tenants' own: removing history past each tenant's retention."""

from __future__ import annotations

from skillhub.scheduler import sweep
from tenants import retention
from tenants.models import Tenant


@sweep(every_seconds=600)
def remove_expired_history() -> int:
    """Remove every tenant's records past its retention policy (tenants/retention.py); return how many."""
    return retention.sweep().total


@sweep(every_seconds=3600)
def count_need_days() -> int:
    """Recount each tenant's last 30 days of needs for the readiness board's chart; return the tenants counted."""
    from signals_inbox.trends import need_days_record

    tenants = list(Tenant.objects.filter(needs__isnull=False).distinct())
    for tenant in tenants:
        need_days_record(tenant=tenant)
    return len(tenants)
