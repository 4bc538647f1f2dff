"""The door other apps record domain events through; the outbox itself is the engine's (webhooks/engine/outbox.py)."""

from __future__ import annotations

from webhooks.engine.outbox import (
    ENQUEUE_GRACE,
    check_event_data,
    deliveries_due,
    deliveries_enqueue_due,
    record_event,
    record_events,
)

__all__ = ["ENQUEUE_GRACE", "check_event_data", "deliveries_due", "deliveries_enqueue_due", "record_event", "record_events"]
