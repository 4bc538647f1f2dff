"""Dramatiq actors of the outbound side: each takes a delivery id and claims the row before sending."""

from __future__ import annotations

# isort: off
import skillhub.broker  # noqa: F401  (the configured broker, before any actor is declared)

# isort: on
import logging
from datetime import timedelta
from typing import Iterable

import dramatiq
from django.db import DatabaseError, connections

from webhooks.engine import outbox
from webhooks.engine import delivery, sendpool

logger = logging.getLogger("skillhub.webhooks")


# The time limit stays inside the claim lease (60 s), so a stuck attempt ends before another may start.
@dramatiq.actor(queue_name="webhooks", max_retries=0, time_limit=50_000)
def deliver(delivery_id: str) -> None:
    """Attempt the named delivery's endpoint's next due delivery, if it has room; else do nothing.

    A duplicate message finds nothing to claim; a slow answer is waited for by a send thread.
    """
    try:
        delivery.dispatch(delivery_id=delivery_id)
    except DatabaseError:
        # A broken connection would poison this worker thread; the row's lease lets the sweep retry.
        connections.close_all()
        raise


# Up to this many messages carry one id each; beyond, ids share messages (at most WAKE_SET_MAX per
# message), so an event fanned out to 1,000 endpoints is 40 broker round trips, not 1,000, and
# still spreads over every worker thread.
WAKE_MESSAGES = 32
WAKE_SET_MAX = 25


@dramatiq.actor(queue_name="webhooks", max_retries=0, time_limit=50_000)
def deliver_set(delivery_ids: list[str]) -> None:
    """Attempt each named delivery's endpoint's next due delivery in turn, as `deliver` would.

    A message that runs out of time leaves the rest to the sweep: each id's reserved place runs
    out (WEBHOOKS_QUEUE_LEASE) and the delivery is still pending in the database.
    """
    after = delivery.AfterMessage()  # their health and the freed slots' second look, once for the message
    try:
        delivery.dispatch_many(delivery_ids=list(delivery_ids), after=after)
    except DatabaseError as exc:  # their places run out and the sweep re-sends them
        connections.close_all()
        logger.warning("deliveries %s left to the sweep: %s", delivery_ids, type(exc).__name__)
    finally:
        try:
            after.finish()
        except DatabaseError as exc:  # health counts are best effort; the sweep wakes what waits
            connections.close_all()
            logger.warning("recording a message's health notes failed: %s", type(exc).__name__)


def message_sets(delivery_ids: list[str]) -> list[list[str]]:
    """The ids grouped into messages: one each up to WAKE_MESSAGES, else evenly, at most WAKE_SET_MAX per message."""
    size = min(WAKE_SET_MAX, -(-len(delivery_ids) // WAKE_MESSAGES))
    return [delivery_ids[start : start + size] for start in range(0, len(delivery_ids), max(size, 1))]


@outbox.deliveries_due.connect
def enqueue_deliveries(delivery_ids: Iterable[str], *, delay: timedelta | None = None) -> int:
    """Send the messages for these ids (webhooks/engine/wake.py reserved each a place); a broker that is
    down is left to the sweep. Return how many ids were sent."""
    sent = 0
    delay_ms = int(delay.total_seconds() * 1000) if delay else None
    try:
        for ids in message_sets(list(delivery_ids)):
            if len(ids) == 1:
                deliver.send_with_options(args=(ids[0],), delay=delay_ms)
            else:
                deliver_set.send_with_options(args=(ids,), delay=delay_ms)
            sent += len(ids)
    except Exception as exc:  # the rows are in the database; the due-deliveries sweep re-sends them
        logger.warning("broker unavailable, %s delivery messages left to the sweep: %s", type(exc).__name__, exc)
    return sent


class PrefetchPerThreadMiddleware(dramatiq.Middleware):
    """A process takes no more messages than it has threads (Dramatiq's default is twice as many).

    A worker thread keeps a fast endpoint for a turn, and a message waiting behind it in this
    process's buffer would wait for the turn while another process's threads sit idle. (Idle
    consumers wait on the broker, not on a timer: skillhub/redis_wake.py.)
    """

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        worker.queue_prefetch = min(worker.queue_prefetch, worker.worker_threads)


class DrainSendsMiddleware(dramatiq.Middleware):
    """Let POSTs handed to send threads finish (up to the request timeout) before the process exits."""

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from django.conf import settings

        sendpool.drain(float(settings.WEBHOOKS_TOTAL_TIMEOUT) + 1)


class CloseDbConnectionsMiddleware(dramatiq.Middleware):
    """Close a worker thread's database connections when the thread stops (they are persistent)."""

    def before_worker_thread_shutdown(self, broker: dramatiq.Broker, thread: object) -> None:
        connections.close_all()


def install_middleware(broker: dramatiq.Broker) -> None:
    """Add the worker-process middleware the delivery actors rely on, once per broker.

    Process-wide, so it would sit as well in `skillhub/broker.py`; it lives here to keep the
    webhooks change self-contained.
    """
    for middleware_class in (PrefetchPerThreadMiddleware, DrainSendsMiddleware, CloseDbConnectionsMiddleware):
        if not any(isinstance(m, middleware_class) for m in broker.middleware):
            broker.add_middleware(middleware_class())


install_middleware(skillhub.broker.broker)
