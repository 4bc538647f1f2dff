"""Dramatiq actors of the outbound side: each takes a delivery id and claims the row before sending."""
from __future__ import annotations

import skillhub.broker  # noqa: F401  (the configured broker, before any actor is declared)

import dramatiq
from django.db import DatabaseError, connections

from webhooks import services


@dramatiq.actor(queue_name="webhooks", max_retries=0, time_limit=120_000)
def deliver(delivery_id: str) -> None:
    """Attempt one delivery if it is still due; a duplicate message finds it claimed and does nothing."""
    try:
        services.delivery_send(delivery_id=delivery_id)
    except DatabaseError:
        # A broken connection would poison this worker thread; the row's lease lets the sweep retry.
        connections.close_all()
        raise
