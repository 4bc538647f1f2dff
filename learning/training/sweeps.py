"""The assignment lifecycle sweep: expiring windows and expiry, safe on several schedulers at once."""
from __future__ import annotations

from learning.training.services.lifecycle import assignments_sweep
from skillhub.scheduler import sweep


@sweep(every_seconds=900)
def sweep_assignment_lifecycle() -> int:
    """Record `assignment.expiring` for assignments entering their window and `assignment.expired` for those past due."""
    result = assignments_sweep()
    return result.expiring + result.expired
