"""Faults with real processes: a `rundramatiq` SIGKILLed mid-run, a broker gone for 10 s; no event is lost.

PostgreSQL for the rows; the broker is a Redis of the test's own (killed outright, losing every
queued message) or the machine's RabbitMQ on a virtual host of the test's own (reached through a
proxy the test cuts). The sweeps run in a real `run_scheduler`.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.factories import TenantFactory
from tests.webhooks.helpers import make_endpoint
from tests.webhooks.processes import (
    CountingReceiver,
    CuttableProxy,
    OwnRedis,
    child_env,
    create_learners,
    running,
    scheduler,
    wait_for,
    worker,
)
from webhooks.models import Delivery, DeliveryState, Event

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

EVENTS = 300
WORKER_THREADS = 8  # what `worker()` starts: each may be sending a set of deliveries at a kill
RABBITMQ = os.environ.get("SKILLHUB_TEST_RABBITMQ", "127.0.0.1:5672")
VHOST = "skillhub_tests"


@pytest.fixture
def receiver():  # noqa: ANN201
    server = CountingReceiver(delay=0.1)
    yield server
    server.close()


@pytest.fixture
def endpoint(receiver, allow_private):  # noqa: ANN001, ANN201
    tenant = TenantFactory()
    make_endpoint(tenant, receiver.url, events=["learner.created"])
    return tenant


@pytest.fixture
def own_redis(tmp_path):  # noqa: ANN001, ANN201
    redis = OwnRedis(tmp_path)
    redis.start()
    yield redis
    redis.kill()


@pytest.fixture
def rabbitmq_vhost() -> str:
    """A virtual host of the test's own on the machine's RabbitMQ, emptied for each test."""
    for argv in (
        ["rabbitmqctl", "-q", "delete_vhost", VHOST],
        ["rabbitmqctl", "-q", "add_vhost", VHOST],
        ["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if result.returncode != 0 and "delete_vhost" not in argv:
            pytest.fail(f"{' '.join(argv)}: {result.stderr or result.stdout}")
    return VHOST


def _assert_every_event_arrived_once_or_in_flight(tenant, receiver) -> None:  # noqa: ANN001
    event_ids = set(Event.objects.filter(tenant=tenant, type="learner.created").values_list("id", flat=True))
    assert len(event_ids) == EVENTS
    # Every delivery ends succeeded: one that was in flight in a killed worker once its claim ran out.
    settled = wait_for(
        # A claim held by a killed worker runs out after its 60 s lease; a loaded machine needs more on top.
        lambda: Delivery.objects.filter(tenant=tenant).exclude(state=DeliveryState.SUCCEEDED).count() == 0, 150, every=0.5
    )
    missing = event_ids - set(receiver.ids)
    assert settled and not missing, f"{len(missing)} events lost"
    assert set(receiver.ids) == event_ids
    assert receiver.mismatched == []  # each webhook-id is its body's event id, on every send
    duplicates = receiver.duplicates()
    # A killed thread had sent at most the set it was sending (WEBHOOKS_TURN_SET, 16 by default, in the
    # children's environment too) without recording it: those are sent again, each once more.
    assert len(duplicates) <= WORKER_THREADS * 16 and all(n == 2 for n in duplicates.values()), duplicates
    print(f"{EVENTS} events arrived, {len(duplicates)} sent twice")


def _kill_worker_mid_run(tmp_path, tenant, receiver, broker_url: str) -> None:  # noqa: ANN001
    env = child_env(tmp_path, broker_url)
    create_learners(env, slug=tenant.slug, first=0, count=EVENTS)  # 300 messages wait in the broker
    first = worker(env, tmp_path / "worker-1.log")
    sweeps = scheduler(env, tmp_path / "scheduler.log")
    with running(sweeps):
        with running(first):
            assert wait_for(lambda: receiver.total() >= EVENTS // 3, 90), (tmp_path / "worker-1.log").read_text()[-3000:]
            first.kill()
        killed_at = receiver.total()
        assert killed_at < EVENTS, "the worker finished before it could be killed"
        second = worker(env, tmp_path / "worker-2.log")
        with running(second):
            _assert_every_event_arrived_once_or_in_flight(tenant, receiver)


@pytest.mark.redis_server
def test_a_sigkilled_redis_worker_loses_no_event(tmp_path, endpoint, receiver, own_redis):
    _kill_worker_mid_run(tmp_path, endpoint, receiver, own_redis.url)


@pytest.mark.rabbitmq
def test_a_sigkilled_rabbitmq_worker_loses_no_event(tmp_path, endpoint, receiver, rabbitmq_vhost):
    _kill_worker_mid_run(tmp_path, endpoint, receiver, f"amqp://guest:guest@{RABBITMQ}/{rabbitmq_vhost}")


@pytest.mark.redis_server
def test_a_redis_broker_killed_for_ten_seconds_loses_no_event(tmp_path, endpoint, receiver, own_redis):
    env = child_env(tmp_path, own_redis.url)
    with running(worker(env, tmp_path / "worker.log"), scheduler(env, tmp_path / "scheduler.log")):
        create_learners(env, slug=endpoint.slug, first=0, count=EVENTS // 2)
        assert wait_for(lambda: receiver.total() >= 30, 90)
        own_redis.kill()  # every queued message is gone with it
        down_at = time.monotonic()
        create_learners(env, slug=endpoint.slug, first=EVENTS // 2, count=EVENTS // 2)  # while it is down
        time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
        own_redis.start()
        _assert_every_event_arrived_once_or_in_flight(endpoint, receiver)


@pytest.mark.rabbitmq
def test_a_rabbitmq_broker_unreachable_for_ten_seconds_loses_no_event(tmp_path, endpoint, receiver, rabbitmq_vhost):
    host, port = RABBITMQ.rsplit(":", 1)
    proxy = CuttableProxy((host, int(port)))
    env = child_env(tmp_path, f"amqp://guest:guest@127.0.0.1:{proxy.port}/{rabbitmq_vhost}")
    try:
        with running(worker(env, tmp_path / "worker.log"), scheduler(env, tmp_path / "scheduler.log")):
            create_learners(env, slug=endpoint.slug, first=0, count=EVENTS // 2)
            assert wait_for(lambda: receiver.total() >= 30, 90)
            proxy.cut()
            down_at = time.monotonic()
            create_learners(env, slug=endpoint.slug, first=EVENTS // 2, count=EVENTS // 2)
            time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
            proxy.restore()
            _assert_every_event_arrived_once_or_in_flight(endpoint, receiver)
    finally:
        proxy.close()
