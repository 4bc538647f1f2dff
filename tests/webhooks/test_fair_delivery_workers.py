"""The in-flight cap across real worker processes (`manage.py rundramatiq`) on PostgreSQL + Redis.

Measured at a real receiver: never more than the endpoint's cap at once, whatever the number of
worker processes; a worker killed while it holds slots frees them when their lease runs out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
from django.db import connection

from tests.skillhub.serving import wait_for
from tests.webhooks.helpers import Sweeper, make_endpoint, make_learner
from tests.webhooks.receivers import SlowReceiver
from webhooks.engine import actors
from webhooks.models import Attempt, Delivery, DeliveryState

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LEASE = 20.0  # the shortest lease the settings accept


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """`manage.py rundramatiq --processes 1 --threads 4` on the test database, in its own process group."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "skillhub.settings",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "test-secret"),
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
            "WEBHOOKS_TOTAL_TIMEOUT": "5",
            "WEBHOOKS_CONNECT_TIMEOUT": "1",
            "WEBHOOKS_CLAIM_LEASE_SECONDS": str(int(LEASE)),
            "WEBHOOKS_HANDOFF_AFTER": "0.1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "4"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def redis_deliver(monkeypatch, settings) -> Iterator[dramatiq.Broker]:  # noqa: ANN001
    """Messages the test process sends go to the Redis broker the worker processes read."""
    from dramatiq.brokers.redis import RedisBroker

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_CLAIM_LEASE_SECONDS = int(LEASE)
    broker = RedisBroker(url=os.environ["DRAMATIQ_BROKER_URL"])
    broker.flush("webhooks")
    bound = dramatiq.Actor(
        actors.deliver.fn,
        broker=broker,
        actor_name="deliver",
        queue_name="webhooks",
        priority=0,
        options={"max_retries": 0},
    )
    monkeypatch.setattr(actors, "deliver", bound)
    yield broker
    broker.flush("webhooks")
    broker.close()


@pytest.fixture
def receiver() -> Iterator[SlowReceiver]:
    server = SlowReceiver()
    yield server
    server.close()


def test_the_cap_holds_across_two_worker_processes(tenant, receiver, redis_deliver):
    receiver.delay = 0.4
    endpoint = make_endpoint(tenant, receiver.url, max_in_flight=3)
    for n in range(30):
        make_learner(tenant, n)
    workers = [WorkerProcess(), WorkerProcess()]  # 8 worker threads in all, for a cap of 3
    try:
        with Sweeper():
            assert receiver.wait_for(lambda r: len(r.answered()) >= 30, timeout=45)
            assert _settled(lambda: Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.SUCCEEDED).count() == 30)
    finally:
        for worker in workers:
            worker.stop()
    assert receiver.max_concurrent == 3
    assert max(Counter(a.webhook_id for a in receiver.answered()).values()) == 1


def test_killing_a_worker_frees_its_slots_within_the_lease(tenant, receiver, redis_deliver):
    receiver.delay = 2.0
    endpoint = make_endpoint(tenant, receiver.url, max_in_flight=3)
    for n in range(9):
        make_learner(tenant, n)
    first = WorkerProcess()
    second = None
    try:
        with Sweeper():
            assert receiver.wait_for(lambda r: r.concurrent == 3, timeout=30)
            in_flight = {a.webhook_id for a in receiver.answered()}
            first.kill()  # holding three slots, mid-request
            killed_at = time.time()
            second = WorkerProcess()
            assert receiver.wait_for(lambda r: len(r.answered()) > 3, timeout=LEASE + 10)
            resumed_after = receiver.answered()[3].at - killed_at
            assert _settled(
                lambda: Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.SUCCEEDED).count() == 9, 40
            )
    finally:
        first.kill()
        if second is not None:
            second.stop()
    assert resumed_after < LEASE + 1.5, f"slots freed {resumed_after:.1f} s after the kill (lease {LEASE} s)"
    assert receiver.max_concurrent == 3
    # The three killed mid-request were sent again (at least once, same webhook-id) and recorded once.
    resent = Counter(a.webhook_id for a in receiver.answered())
    assert all(resent[webhook_id] == 2 for webhook_id in in_flight)
    assert Attempt.objects.filter(delivery__endpoint=endpoint).count() == 9


def _settled(condition, seconds: float = 15) -> bool:  # noqa: ANN001
    """Whether `condition` holds within `seconds`."""
    return bool(wait_for(condition, seconds, every=0.1))
