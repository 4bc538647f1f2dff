"""Dramatiq actors of the signal inbox: small, given ids, idempotent (they claim their rows)."""
from __future__ import annotations

import skillhub.broker  # noqa: F401, I001  (the broker must be set before an actor is declared)

import logging

import dramatiq

from signals_inbox import services

logger = logging.getLogger("skillhub.signals")


@dramatiq.actor(queue_name="signals", max_retries=8, min_backoff=1_000, max_backoff=300_000)
def resolve_signal(signal_id: str) -> None:
    """Resolve a recorded signal into its need (worker or cohort, course or author); once."""
    services.signal_resolve(signal_id=signal_id)


@dramatiq.actor(queue_name="signals", max_retries=0)
def resolve_signals(signal_ids: list[str]) -> None:
    """Resolve a batch of signals; any that fail are re-sent one by one, with retries."""
    for signal_id in signal_ids:
        try:
            services.signal_resolve(signal_id=signal_id)
        except Exception:  # isolate the failure: the rest of the batch still resolves
            logger.exception("resolving %s failed; retrying it on its own", signal_id)
            resolve_signal.send(signal_id)


@dramatiq.actor(queue_name="signals", max_retries=5, min_backoff=1_000)
def close_need_if_complete(need_id: str) -> None:
    """Resolve an offered need whose assignments are all completed."""
    services.need_close_if_complete(need_id=need_id)
