"""Dramatiq actors of the learning app (discovered by skillhub.tasks.import_actors)."""
from __future__ import annotations

from learning.evidence import actors as evidence_actors  # noqa: F401
