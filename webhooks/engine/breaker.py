"""The circuit breaker of an endpoint: attempts without an answer open it, any answer closes it.

After WEBHOOKS_BREAKER_THRESHOLD consecutive timeouts or connection failures the endpoint has no
in-flight place at all until `circuit_open_until` (the cool-down, doubling with each failed probe),
then one: the probe (the cap rule of webhooks/engine/statements.py). Deliveries held back meanwhile are deferred, not failed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from skillhub import metrics
from webhooks.engine import statements
from skillhub.db import db_time

logger = logging.getLogger("skillhub.webhooks")


def no_answer(error: str, status_code: int | None) -> bool:
    """Say whether an attempt failed for want of an answer (timeout, refused or broken connection).

    Those are what the circuit breaker counts; any HTTP answer, even a 500, shows the receiver is
    there. A target refused by the SSRF guard or a request that could not be built is neither.
    """
    if status_code is not None or not error:
        return False
    return not error.startswith(("refused:", "invalid request", "could not send"))


def cooldown(failures: int) -> timedelta:
    """The wait before the next probe after `failures` consecutive failures (doubling, capped)."""
    over = max(failures - int(settings.WEBHOOKS_BREAKER_THRESHOLD), 0)
    seconds = float(settings.WEBHOOKS_BREAKER_COOLDOWN) * (2 ** min(over, 20))
    return timedelta(seconds=min(seconds, float(settings.WEBHOOKS_BREAKER_MAX_COOLDOWN)))


def note_outcome(*, endpoint_id: str, failures_before: int, status_code: int | None, error: str, now: datetime) -> bool:
    """Count a failure without an answer towards the breaker, or close the breaker on any answer.

    Returns True when this answer closed the breaker (the caller wakes the endpoint's other slots).
    """
    if no_answer(error, status_code):
        failures = failures_before + 1
        threshold = int(settings.WEBHOOKS_BREAKER_THRESHOLD)
        opens = failures >= threshold
        reason = f"{failures} consecutive attempts without an answer (last: {error})"[:500]
        params = {"reason": reason, "threshold": threshold, "open_until": db_time(now + cooldown(failures))}
        with connection.cursor() as cursor:
            cursor.execute(statements.COUNT_NO_ANSWER, {**params, "endpoint_id": endpoint_id})
        if opens:
            metrics.circuit_opened()
            logger.warning("webhook endpoint %s held back: %s; next probe in %s", endpoint_id, reason, cooldown(failures))
    elif failures_before and status_code is not None:
        with connection.cursor() as cursor:
            cursor.execute(statements.CLOSE_CIRCUIT, {"endpoint_id": endpoint_id})
            closed = cursor.rowcount == 1
        if closed and failures_before >= int(settings.WEBHOOKS_BREAKER_THRESHOLD):
            logger.info("webhook endpoint %s answered again (HTTP %s): resuming", endpoint_id, status_code)
            return True
    return False
