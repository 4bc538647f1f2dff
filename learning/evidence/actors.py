"""Dramatiq actor of exports: given an export id, it claims the row and writes the file (idempotent)."""
from __future__ import annotations

# isort: off
from typing import Any
from django.dispatch import receiver
import skillhub.broker  # noqa: F401  (the configured broker, before any actor is declared)

# isort: on
import logging
from typing import Iterable

import dramatiq
from django.db import DatabaseError, connections

from learning.evidence.services import exports

logger = logging.getLogger("skillhub.exports")


# No broker retries: the row's lease and the sweep decide when a stopped export runs again.
@dramatiq.actor(queue_name="exports", max_retries=0, time_limit=60 * 60 * 1000)
def run_export(export_id: str) -> None:
    """Write the export if it is due; a duplicate message finds it claimed and does nothing."""
    try:
        exports.export_run(export_id=export_id)
    except DatabaseError:
        connections.close_all()
        raise


@receiver(exports.exports_due)
def enqueue_exports(sender: Any = None, *, export_ids: Iterable[str], **kwargs: Any) -> int:
    """Send one export message per id; a broker that is down leaves them to the sweep. Return how many were sent."""
    sent = 0
    try:
        for export_id in export_ids:
            run_export.send(export_id)
            sent += 1
    except Exception as exc:  # the rows say what is pending; the sweep re-sends
        logger.warning("broker unavailable, export messages left to the sweep: %s: %s", type(exc).__name__, exc)
    return sent
