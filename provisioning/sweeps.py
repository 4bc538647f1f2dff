"""Periodic sweeps of provisioning (discovered by skillhub.scheduler.load_sweeps)."""
from __future__ import annotations

from provisioning.imports import learner_imports_resend_stalled
from skillhub.scheduler import sweep


@sweep(every_seconds=60)
def resend_stalled_imports() -> int:
    """Re-send CSV imports whose message was lost or whose worker stopped."""
    return learner_imports_resend_stalled()
