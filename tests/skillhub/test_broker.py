"""Dramatiq messages are processed on the embedded broker and on Redis."""
from __future__ import annotations

import os
import uuid

import dramatiq
import pytest
from django.core.cache import cache

from skillhub.broker import build_broker


def _run_through(broker: dramatiq.Broker) -> None:
    token = uuid.uuid4().hex
    queue = f"test-{token[:8]}"

    @dramatiq.actor(broker=broker, queue_name=queue, actor_name=f"record_{token[:8]}")
    def record(value: str) -> None:
        cache.set(f"broker-test:{value}", "done", 60)

    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        record.send(token)
        broker.join(queue, timeout=10_000)
        worker.join()
    finally:
        worker.stop()
    assert cache.get(f"broker-test:{token}") == "done"


def test_embedded_broker_processes_a_message():
    _run_through(build_broker("embedded"))


@pytest.mark.redis
def test_redis_broker_processes_a_message():
    url = os.environ.get("DRAMATIQ_BROKER_URL", "")
    if not url.startswith("redis"):
        pytest.skip("DRAMATIQ_BROKER_URL is not a redis:// URL")
    broker = build_broker("redis", url)
    try:
        _run_through(broker)
    finally:
        broker.close()
