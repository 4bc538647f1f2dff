"""Periodic sweeps of the tenants app (discovered by skillhub.scheduler.load_sweeps)."""
from __future__ import annotations

from skillhub.scheduler import sweep
from tenants.idempotency import sweep_expired


@sweep(every_seconds=600)
def idempotency_records_expired() -> int:
    """Delete stored idempotent answers older than 24 hours."""
    return sweep_expired()
