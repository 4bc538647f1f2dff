"""Periodic sweeps of the learning app (discovered by skillhub.scheduler.load_sweeps)."""
from __future__ import annotations

from learning.evidence import sweeps as evidence_sweeps  # noqa: F401
from learning.training import sweeps as training_sweeps  # noqa: F401  (the assignment lifecycle sweep)
