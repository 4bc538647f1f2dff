"""Periodic sweeps of the outbound side, run by `serve` and `run_scheduler`."""

from __future__ import annotations

from skillhub.scheduler import sweep
from webhooks import partitions
from webhooks.outbox import deliveries_enqueue_due


@sweep(every_seconds=5)
def enqueue_due_deliveries() -> int:
    """Re-send messages for deliveries that are due but whose message is lost, late or never sent."""
    total = 0
    while True:
        sent = deliveries_enqueue_due(limit=1000)
        total += sent
        if sent < 1000:
            return total


@sweep(every_seconds=60)
def make_attempt_partitions() -> int:
    """Keep partitions made ahead of the attempt ids in use (PostgreSQL; nothing elsewhere)."""
    return partitions.ensure_partitions()
