"""Periodic sweeps: the database says what is due, and a sweep re-enqueues it.

Sweeps only enqueue idempotent actors that claim their rows, so running the scheduler on
several machines at once is safe; a short cache lock keeps them from all doing the same scan.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from django.core.cache import cache
from django.db import close_old_connections

from skillhub import metrics
from skillhub.tasks import import_app_modules

logger = logging.getLogger("skillhub.scheduler")


@dataclass
class Sweep:
    name: str
    every_seconds: float
    func: Callable[[], int | None]
    last_run: float = 0.0


SWEEPS: dict[str, Sweep] = {}


def sweep(*, every_seconds: float) -> Callable[[Callable[[], int | None]], Callable[[], int | None]]:
    """Register a function as a periodic sweep, run at most every `every_seconds`."""

    def register(func: Callable[[], int | None]) -> Callable[[], int | None]:
        name = f"{func.__module__}.{func.__qualname__}"
        SWEEPS[name] = Sweep(name=name, every_seconds=every_seconds, func=func)
        return func

    return register


def load_sweeps() -> dict[str, Sweep]:
    """Import every app's `sweeps` module (and actors, which sweeps enqueue)."""
    from skillhub.tasks import import_actors

    import_actors()
    import_app_modules("sweeps")
    return SWEEPS


def run_due_sweeps(now: float | None = None) -> dict[str, int | None]:
    """Run every sweep whose interval has passed; return what each reported."""
    now = time.time() if now is None else now
    results: dict[str, int | None] = {}
    for item in list(SWEEPS.values()):
        if now - item.last_run < item.every_seconds:
            continue
        item.last_run = now
        window = int(now // max(item.every_seconds, 1))
        if not cache.add(f"sweep-lock:{item.name}:{window}", 1, timeout=max(int(item.every_seconds), 1)):
            continue  # another scheduler ran this sweep in this window
        started, ok = time.perf_counter(), False
        try:
            results[item.name] = item.func()
            ok = True
        except Exception:  # one failing sweep must not stop the others
            logger.exception("sweep %s failed", item.name)
        finally:
            metrics.sweep_ran(name=item.name, seconds=time.perf_counter() - started, ok=ok)
            close_old_connections()
    return results


def run_forever(stop: threading.Event, tick_seconds: float = 1.0) -> None:
    """Run sweeps until `stop` is set."""
    load_sweeps()
    logger.info("scheduler running %d sweeps: %s", len(SWEEPS), ", ".join(sorted(SWEEPS)))
    while not stop.is_set():
        run_due_sweeps()
        stop.wait(tick_seconds)
