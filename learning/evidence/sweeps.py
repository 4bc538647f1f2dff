"""Periodic sweeps of exports: re-send lost or stalled ones, delete expired files."""
from __future__ import annotations

from learning.evidence.services import exports_expire, exports_resend_due
from skillhub.scheduler import sweep


@sweep(every_seconds=30)
def resend_stalled_exports() -> int:
    """Re-send exports whose message was lost or whose worker stopped (its lease ran out)."""
    return exports_resend_due()


@sweep(every_seconds=300)
def expire_old_exports() -> int:
    """Delete export files past the tenant's retention; their links answer 410 from then on."""
    return exports_expire()
