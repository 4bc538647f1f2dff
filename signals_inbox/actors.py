"""Dramatiq actors of the signal inbox: small, given ids, idempotent (they claim their rows)."""
from __future__ import annotations

import skillhub.broker  # noqa: F401, I001  (the broker must be set before an actor is declared)

import time

import dramatiq

from signals_inbox import bulk, services


@dramatiq.actor(queue_name="signals", max_retries=8, min_backoff=1_000, max_backoff=300_000)
def resolve_signal(signal_id: str) -> None:
    """Resolve a recorded signal into its need (worker or cohort, course or author); once."""
    services.signal_resolve(signal_id=signal_id)


# A drain hands the queue back after this long (re-sending itself), so other messages are not starved.
DRAIN_SECONDS = 10.0


@dramatiq.actor(queue_name="signals", max_retries=0)
def resolve_signals(signal_ids: list[str]) -> None:
    """Drain the backlog in batches, oldest first, until a batch comes back short (the ids sent are in it).

    Several drains run side by side on disjoint batches (the claim skips rows another holds). A
    signal that fails is retried on its own, with backoff; a drain lost with its worker is re-sent
    by the sweep.
    """
    started = time.monotonic()
    limit = services.batch_size()
    while True:
        outcome = services.signals_resolve_batch(limit=limit)
        for signal_id in outcome.failed:
            resolve_signal.send(signal_id)
        if outcome.claimed < limit:
            return
        if time.monotonic() - started > DRAIN_SECONDS:
            resolve_signals.send([])  # more to do: continue in a fresh message
            return


@dramatiq.actor(queue_name="signals", max_retries=5, min_backoff=1_000)
def close_need_if_complete(need_id: str) -> None:
    """Resolve an offered need whose assignments are all completed."""
    services.need_close_if_complete(need_id=need_id)


@dramatiq.actor(queue_name="signals", max_retries=5, min_backoff=1_000, max_backoff=60_000)
def run_bulk(run_id: str) -> None:
    """Carry out a confirmed Offer or Dismiss of many needs, batch by batch, from where it stopped."""
    bulk.bulk_run_execute(run_id=run_id)
