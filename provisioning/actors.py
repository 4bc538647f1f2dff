"""Dramatiq actor of CSV imports: given an import id, it writes the rows still to write (idempotent)."""
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

from provisioning import imports

logger = logging.getLogger("skillhub.imports")


# No broker retries: the row's progress and the sweep decide when a stopped import runs again.
@dramatiq.actor(queue_name="imports", max_retries=0, time_limit=60 * 60 * 1000)
def run_learner_import(import_id: str) -> None:
    """Write the import's remaining rows; a duplicate message waits on the row lock, then finds less or nothing to do."""
    try:
        imports.learner_import_run(import_id=import_id)
    except DatabaseError:
        connections.close_all()
        raise


@receiver(imports.imports_due)
def enqueue_imports(sender: Any = None, *, import_ids: Iterable[str], **kwargs: Any) -> int:
    """Send one message per import; a broker that is down leaves them to the sweep."""
    sent = 0
    try:
        for import_id in import_ids:
            run_learner_import.send(import_id)
            sent += 1
    except Exception as exc:  # the rows say what is pending; the sweep re-sends
        logger.warning("broker unavailable, import messages left to the sweep: %s: %s", type(exc).__name__, exc)
    return sent
