"""Periodic sweeps of the learning domain, run by `serve` and `run_scheduler`."""
from __future__ import annotations

from learning.training import sweeps  # noqa: F401  (registers the assignment lifecycle sweep)
