"""On Redis, idle workers wait for messages instead of polling, and still pick each one up at once."""
from __future__ import annotations

import os
import threading
import time
import uuid

import dramatiq
import pytest

from skillhub.redis_wake import WakingRedisBroker

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("DRAMATIQ_BROKER_URL", "")
    if not url.startswith("redis"):
        pytest.skip("DRAMATIQ_BROKER_URL is not a redis:// URL")
    return url


class CountingBroker(WakingRedisBroker):
    """Counts the fetch scripts its consumers run."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fetches = 0

    def _dispatch(self, command):
        run = super()._dispatch(command)
        if command != "fetch":
            return run

        def counted(*args):
            self.fetches += 1
            return run(*args)

        return counted


def _broker_with_actor(url: str, *, seconds_per_message: float = 0.0):
    token = uuid.uuid4().hex[:8]
    broker = CountingBroker(url=url, namespace=f"wake-test-{token}")
    done: list[float] = []
    lock = threading.Lock()

    @dramatiq.actor(broker=broker, queue_name="work", actor_name=f"work_{token}")
    def work(sent_at: float) -> None:
        time.sleep(seconds_per_message)
        with lock:
            done.append(time.time() - sent_at)

    return broker, work, done


def _wait_for(done: list, count: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while len(done) < count and time.time() < deadline:
        time.sleep(0.01)


def test_an_idle_worker_runs_few_fetches_and_wakes_for_a_message(redis_url):
    broker, work, done = _broker_with_actor(redis_url)
    # A long idle timeout: a polling consumer would back off towards it and answer late.
    worker = dramatiq.Worker(broker, worker_timeout=5000, worker_threads=2)
    worker.start()
    try:
        time.sleep(0.3)
        idle_from = broker.fetches
        time.sleep(3.0)
        # Two consumers (the queue and its delay queue); the delay queue looks every 0.1 s.
        assert broker.fetches - idle_from <= 80
        for sent in range(1, 4):
            work.send(time.time())
            _wait_for(done, sent, timeout=8)
            time.sleep(1.5)  # idle again: a polling consumer would be deep in its back-off
        assert len(done) == 3
        assert max(done) < 0.25, f"messages waited {[round(d, 2) for d in done]} s for an idle consumer"
    finally:
        worker.stop()
        broker.close()


def test_a_busy_consumer_fetches_again_as_soon_as_a_message_is_acked(redis_url):
    broker, work, done = _broker_with_actor(redis_url, seconds_per_message=0.05)
    worker = dramatiq.Worker(broker, worker_timeout=5000, worker_threads=1)
    worker.queue_prefetch = 1
    worker.start()
    try:
        time.sleep(0.3)
        started = time.time()
        for _ in range(6):
            work.send(time.time())
        _wait_for(done, 6, timeout=10)
        assert len(done) == 6
        # One at a time at 0.05 s each; a consumer that slept through its idle timeout between them would take 5 s each.
        assert time.time() - started < 3.0
    finally:
        worker.stop()
        broker.close()


def test_a_message_sent_by_the_plain_broker_is_still_fetched(redis_url):
    from dramatiq.brokers.redis import RedisBroker

    broker, work, done = _broker_with_actor(redis_url)
    plain = RedisBroker(url=redis_url, namespace=broker.namespace)
    plain.declare_actor(work)
    worker = dramatiq.Worker(broker, worker_timeout=300, worker_threads=1)
    worker.start()
    try:
        time.sleep(0.2)
        plain.enqueue(work.message(time.time()))  # no wake token: found at the next idle timeout
        _wait_for(done, 1, timeout=5)
        assert len(done) == 1
    finally:
        worker.stop()
        broker.close()
        plain.close()
