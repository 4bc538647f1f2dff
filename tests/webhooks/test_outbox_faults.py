"""The outbox under faults: rollback, a broker that is down, a worker that dies, duplicate and racing workers."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import dramatiq
import pytest
from django.db import connection, transaction
from django.utils import timezone
from dramatiq.errors import ConnectionClosed

from skillhub.scheduler import load_sweeps
from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks import outbox
from webhooks.engine import actors
from webhooks.engine.claims import claim_and_load
from webhooks.engine.delivery import send as send_delivery
from webhooks.models import Attempt, Delivery, DeliveryState, EndpointSlot, Event
from webhooks.sweeps import enqueue_due_deliveries

pytestmark = pytest.mark.django_db(transaction=True)


def _after_grace():
    return timezone.now() + outbox.ENQUEUE_GRACE + timedelta(seconds=1)


def test_rolled_back_transaction_records_and_sends_nothing(tenant, receiver, allow_private, stub_broker):
    make_endpoint(tenant, receiver.url)

    with pytest.raises(RuntimeError), transaction.atomic():
        make_learner(tenant)
        raise RuntimeError("the caller's change fails after the event was recorded")

    assert Event.objects.count() == 0 and Delivery.objects.count() == 0
    assert stub_broker.queues["webhooks"].qsize() == 0
    assert receiver.requests == []


def test_message_is_sent_only_after_commit(tenant, receiver, allow_private, stub_broker):
    make_endpoint(tenant, receiver.url)

    with transaction.atomic():
        make_learner(tenant)
        assert stub_broker.queues["webhooks"].qsize() == 0

    assert stub_broker.queues["webhooks"].qsize() == 1


def test_events_recorded_while_the_broker_is_down_are_delivered_when_it_returns(
    tenant, receiver, allow_private, stub_broker, stub_worker, monkeypatch
):
    make_endpoint(tenant, receiver.url)

    def broker_down(*args, **kwargs):
        raise ConnectionClosed(ConnectionError("broker down"))

    with monkeypatch.context() as patch:
        patch.setattr(stub_broker, "enqueue", broker_down)
        for n in range(3):
            make_learner(tenant, n)  # each commits; the failed send is logged, not raised
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 3
    assert receiver.requests == []

    assert outbox.deliveries_enqueue_due(now=_after_grace()) == 3
    stub_broker.join("webhooks")

    assert len(receiver.wait_for(3)) == 3
    assert Delivery.objects.filter(state=DeliveryState.SUCCEEDED).count() == 3


def test_delivery_claimed_by_a_worker_that_died_is_sent_by_the_sweep(
    tenant, receiver, allow_private, stub_broker, stub_worker
):
    make_endpoint(tenant, receiver.url)
    with dramatiq_paused(stub_broker):
        make_learner(tenant)
    delivery = Delivery.objects.get()
    # A worker claimed it and was killed mid-request; a minute on, its lease has run out.
    assert claim_and_load(delivery.pk, timezone.now())
    assert outbox.deliveries_enqueue_due(now=_after_grace()) == 0  # the lease is still live
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))

    assert outbox.deliveries_enqueue_due(now=_after_grace()) == 1
    stub_broker.join("webhooks")

    assert len(receiver.wait_for(1)) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts.count() == 1


def test_live_claim_is_not_taken_over(tenant, receiver, allow_private, stub_broker):
    make_endpoint(tenant, receiver.url)
    make_learner(tenant)
    delivery = Delivery.objects.get()
    assert claim_and_load(delivery.pk, timezone.now())

    assert send_delivery(delivery_id=delivery.pk) is None
    assert outbox.deliveries_enqueue_due(now=_after_grace()) == 0
    assert receiver.requests == []


def test_duplicate_messages_send_once(tenant, receiver, allow_private, stub_broker, stub_worker):
    make_endpoint(tenant, receiver.url)
    make_learner(tenant)
    delivery = Delivery.objects.get()

    for _ in range(4):
        actors.deliver.send(delivery.pk)
    stub_broker.join("webhooks")

    assert len(receiver.requests) == 1
    assert Attempt.objects.count() == 1


def test_racing_workers_never_send_the_same_attempt_twice(tenant, receiver, allow_private):
    make_endpoint(tenant, receiver.url)
    for n in range(5):
        make_learner(tenant, n)
    ids = list(Delivery.objects.values_list("id", flat=True))
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            for delivery_id in ids:
                send_delivery(delivery_id=delivery_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(receiver.requests) == 5
    assert sorted(r.header("webhook-id") for r in receiver.requests) == sorted(
        Delivery.objects.values_list("event_id", flat=True)
    )
    assert Attempt.objects.count() == 5


def test_the_sweep_is_registered_and_resends_overdue_deliveries(
    tenant, receiver, allow_private, stub_broker, stub_worker
):
    assert "webhooks.sweeps.enqueue_due_deliveries" in load_sweeps()
    make_endpoint(tenant, receiver.url)
    with dramatiq_paused(stub_broker):
        make_learner(tenant)
    assert enqueue_due_deliveries() == 0  # its message may still be on its way (the slot waits for it)
    # The message was lost: the slot it held for the delivery is free again once its lease runs out.
    EndpointSlot.objects.update(leased_until=timezone.now() - timedelta(seconds=1))

    assert enqueue_due_deliveries() == 1
    stub_broker.join("webhooks")

    assert len(receiver.wait_for(1)) == 1


class dramatiq_paused:  # noqa: N801
    """Drop the messages sent inside the block, as a broker that lost them would."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def __enter__(self) -> None:
        self._enqueue = self.broker.enqueue
        self.broker.enqueue = lambda message, *, delay=None: message  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        self.broker.enqueue = self._enqueue  # type: ignore[method-assign]


@pytest.mark.redis
@pytest.mark.postgres
def test_on_redis_a_broker_outage_loses_nothing(tenant, receiver, allow_private, monkeypatch):
    from dramatiq.brokers.redis import RedisBroker

    def bind(broker: dramatiq.Broker) -> dramatiq.Actor:
        return dramatiq.Actor(
            actors.deliver.fn,
            broker=broker,
            actor_name="deliver",
            queue_name="webhooks",
            priority=0,
            options={"max_retries": 0},
        )

    make_endpoint(tenant, receiver.url)
    dead = RedisBroker(url="redis://127.0.0.1:1/0")
    monkeypatch.setattr(actors, "deliver", bind(dead))
    for n in range(3):
        make_learner(tenant, n)
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 3

    live = RedisBroker(url=os.environ["DRAMATIQ_BROKER_URL"])
    actors.install_middleware(live)
    monkeypatch.setattr(actors, "deliver", bind(live))
    live.flush("webhooks")
    worker = dramatiq.Worker(live, worker_threads=4, worker_timeout=100)
    worker.start()
    try:
        assert outbox.deliveries_enqueue_due(now=_after_grace()) == 3
        assert len(receiver.wait_for(3)) == 3
        live.join("webhooks", timeout=10_000)
    finally:
        worker.stop()
        live.close()
    assert Delivery.objects.filter(state=DeliveryState.SUCCEEDED).count() == 3
    assert len(receiver.requests) == 3
