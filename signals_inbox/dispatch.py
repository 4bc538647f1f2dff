"""Hand committed signals to the resolution actor: at once in-process, batched on a network broker.

On Redis or RabbitMQ a broker round trip per webhook call would cost a good part of the ingest
budget, so each process collects the ids committed in the last few milliseconds and sends them in
small batches from one background thread. Nothing depends on this for safety: a signal whose id
never reaches the broker (process killed, broker down) is still unresolved in the database, and
the sweep re-sends it.
"""
from __future__ import annotations

from typing import Any
from django.dispatch import receiver
import atexit
import logging
import os
import threading
import time

from django.conf import settings

from signals_inbox.actors import resolve_signal, resolve_signals
from signals_inbox.services.ingest import signal_recorded

logger = logging.getLogger("skillhub.signals")

FLUSH_SECONDS = 0.02
# Small batches keep every worker thread busy; one batch is one message.
BATCH_SIZE = 50

_pending: list[str] = []
_lock = threading.Lock()
_flusher: dict[str, object] = {}


def _batching() -> bool:
    return settings.DRAMATIQ_BROKER in ("redis", "amqp") and settings.SIGNALS_BATCH_RESOLUTION_SENDS


@receiver(signal_recorded)
def send_resolution(sender: Any = None, *, signal_id: str, **kwargs: Any) -> None:
    """Ask for a committed signal to be resolved (call it on commit)."""
    if not _batching():
        _send([signal_id])
        return
    with _lock:
        _pending.append(signal_id)
        if _flusher.get("pid") != os.getpid():  # first use in this (possibly forked) process
            thread = threading.Thread(target=_run, name="signal-dispatch", daemon=True)
            _flusher.update(pid=os.getpid(), thread=thread)
            thread.start()


def flush() -> int:
    """Send everything collected so far; return how many ids were sent."""
    with _lock:
        batch = list(_pending)
        _pending.clear()
    for start in range(0, len(batch), BATCH_SIZE):
        _send(batch[start : start + BATCH_SIZE])
    return len(batch)


def _run() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except Exception:  # keep the thread alive; the sweep covers whatever was not sent
            logger.exception("sending signal resolutions failed")


def _send(signal_ids: list[str]) -> None:
    try:
        if len(signal_ids) == 1:
            resolve_signal.send(signal_ids[0])
        else:
            resolve_signals.send(signal_ids)
    except Exception:  # a broker outage must not fail an accepted signal: the sweep re-sends it
        logger.warning("could not enqueue resolution of %d signal(s); the sweep will retry", len(signal_ids))


atexit.register(flush)
