"""The embedded default: Dramatiq workers and the scheduler inside the web process."""
from __future__ import annotations

import logging
import threading

import dramatiq

logger = logging.getLogger("skillhub.embedded")
_started: dict[str, object] = {}


def start(worker_threads: int = 4) -> None:
    """Start in-process Dramatiq worker threads and the sweep scheduler (once per process)."""
    if _started:
        return
    from skillhub.scheduler import run_forever
    from skillhub.tasks import import_actors

    import_actors()
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=worker_threads)
    worker.start()
    stop = threading.Event()
    scheduler = threading.Thread(target=run_forever, args=(stop,), name="skillhub-scheduler", daemon=True)
    scheduler.start()
    _started.update(worker=worker, stop=stop, scheduler=scheduler)
    logger.info("embedded worker (%d threads) and scheduler started", worker_threads)


def stop() -> None:
    """Stop what `start` started."""
    if not _started:
        return
    _started["stop"].set()  # type: ignore[attr-defined]
    _started["worker"].stop()  # type: ignore[attr-defined]
    _started.clear()
