"""Send threads: a slow receiver holds one of these, never a worker thread.

A worker thread claims a delivery, hands the POST to this process's send threads and waits a
short while (WEBHOOKS_HANDOFF_AFTER) for the answer; almost every answer comes within it and is
recorded by the worker thread as before. A POST still running then is left to its send thread,
and the attempt is recorded by a recorder thread when the answer or the timeout comes, while the
worker thread goes back to the queue for other endpoints' deliveries.

Why threads and not an asynchronous HTTP client: the one transport (`webhooks.engine.transport`) keeps
its pinned-address SSRF guard and wall-clock watchdog unchanged, and a thread blocked on a socket
costs memory, not CPU. The circuit breaker and the in-flight cap keep the number of POSTs to slow
receivers small (at most `maxInFlight` each, one probe once the circuit is open), so WEBHOOKS_SEND_THREADS
(64 per process by default) covers dozens of hanging receivers at once. Measured in
`bench/webhook_delivery.py` (the noisy-neighbour round).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, TypeVar

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

logger = logging.getLogger("skillhub.webhooks")

T = TypeVar("T")

_lock = threading.Lock()
_senders: ThreadPoolExecutor | None = None
_recorders: ThreadPoolExecutor | None = None


def _pools() -> tuple[ThreadPoolExecutor, ThreadPoolExecutor]:
    """This process's pools, made on first use (after any fork of the worker processes)."""
    global _senders, _recorders
    with _lock:
        if _senders is None or _recorders is None:
            _senders = ThreadPoolExecutor(int(settings.WEBHOOKS_SEND_THREADS), thread_name_prefix="webhooks-send")
            _recorders = ThreadPoolExecutor(2, thread_name_prefix="webhooks-record")
        return _senders, _recorders


def run(post: Callable[[], T], *, later: Callable[[T], object]) -> T | None:
    """Run `post` on a send thread; return its result if it ends in time, else None.

    When it does not, `later(result)` runs on a recorder thread once it ends.
    """
    senders, recorders = _pools()
    # The log context (tenant, delivery) follows the POST to its send thread and its recorder.
    try:
        future = senders.submit(contextvars.copy_context().run, post)
    except RuntimeError:  # the process is shutting down (pools drained): send in this thread
        return post()
    try:
        return future.result(timeout=float(settings.WEBHOOKS_HANDOFF_AFTER))
    except FutureTimeout:
        context = contextvars.copy_context()
        future.add_done_callback(lambda done: _submit(recorders, later, done, context))
        return None


def run_all(posts: list[Callable[[], T]], *, laters: list[Callable[[T], object]]) -> list[T | None]:
    """Run the posts on send threads at once; return each result that ends within the hand-off wait
    (one wait for all), else None, its `later` then running on a recorder thread once it ends."""
    senders, recorders = _pools()
    try:
        futures = [senders.submit(contextvars.copy_context().run, post) for post in posts]
    except RuntimeError:  # the process is shutting down (pools drained): send in this thread
        return [post() for post in posts]
    done, _ = wait(futures, timeout=float(settings.WEBHOOKS_HANDOFF_AFTER))
    results: list[T | None] = []
    for future, later in zip(futures, laters):
        if future in done:
            results.append(future.result())
            continue
        future.add_done_callback(functools.partial(_submit, recorders, later, context=contextvars.copy_context()))
        results.append(None)
    return results


def _submit(recorders: ThreadPoolExecutor, later: Callable[[T], object], done: Future[T], context: contextvars.Context) -> None:
    try:
        recorders.submit(context.run, _record_later, later, done)
    except RuntimeError:  # shutting down: the lease runs out and the sweep sends it again
        logger.warning("worker shutting down; a handed-off attempt is left to its lease")


def _record_later(then: Callable[[T], object], done: Future[T]) -> None:
    close_old_connections()
    try:
        then(done.result())
    except DatabaseError:
        # The lease runs out and the sweep hands the delivery on; a fresh connection next time.
        logger.exception("recording a handed-off delivery attempt failed")
        connections.close_all()
    except Exception:
        logger.exception("recording a handed-off delivery attempt failed")


def drain(timeout: float) -> None:
    """Wait up to `timeout` seconds for POSTs still running (a worker shutting down)."""
    global _senders, _recorders
    with _lock:
        senders, recorders = _senders, _recorders
        _senders = _recorders = None
    if senders is None or recorders is None:
        return
    done = threading.Event()

    def shut() -> None:
        senders.shutdown(wait=True)
        recorders.shutdown(wait=True)
        done.set()

    threading.Thread(target=shut, name="webhooks-drain", daemon=True).start()
    done.wait(timeout)
