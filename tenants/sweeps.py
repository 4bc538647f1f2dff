"""Periodic sweeps of the tenants' own: removing history past each tenant's retention."""

from __future__ import annotations

from skillhub.scheduler import sweep
from tenants import retention


@sweep(every_seconds=600)
def remove_expired_history() -> int:
    """Remove every tenant's records past its retention policy (tenants/retention.py); return how many."""
    return retention.sweep().total

