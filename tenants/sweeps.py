"""Periodic sweeps of the tenants app (discovered by skillhub.scheduler.load_sweeps)."""
from __future__ import annotations

from skillhub.scheduler import sweep
from tenants import retention
from tenants.idempotency import sweep_expired


@sweep(every_seconds=600)
def remove_expired_history() -> int:
    """Remove every tenant's records past its retention policy (tenants/retention.py); return how many."""
    return retention.sweep().total


@sweep(every_seconds=600)
def idempotency_records_expired() -> int:
    """Delete stored idempotent answers older than 24 hours."""
    return sweep_expired()
