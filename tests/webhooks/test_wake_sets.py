"""Waking many endpoints at once rides few broker messages, and a lost one loses nothing.

An event fanned out to many endpoints reserves a place for each delivery; the messages for those
deliveries carry several ids each (`deliver_set`). Pending work stays in the database: when such
a message is lost, the reservations run out and the sweep sends the deliveries again.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import dramatiq
import pytest
from django.utils import timezone

from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks import outbox
from webhooks.engine import actors
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)

ENDPOINTS = 40


def _sent_ids(broker: Any) -> list[str]:
    """Every delivery id named by the messages waiting in the webhooks queue (left in it)."""
    ids: list[str] = []
    for raw in list(broker.queues["webhooks"].queue):
        message = json.loads(raw)
        ids += message["args"][0] if message["actor_name"] == "deliver_set" else [message["args"][0]]
    return ids


def _fan_out(tenant: Any) -> None:
    """One event (learner.created, recorded by the service) to every endpoint."""
    make_learner(tenant)


def test_messages_carry_one_id_each_up_to_a_few_then_sets():
    assert actors.message_sets(["a", "b"]) == [["a"], ["b"]]
    sets = actors.message_sets([f"d{n}" for n in range(1000)])
    assert len(sets) == 40 and all(len(s) == 25 for s in sets)
    assert [i for s in sets for i in s] == [f"d{n}" for n in range(1000)]  # each once, in order


def test_a_fan_out_to_many_endpoints_sends_few_messages(tenant, receiver, allow_private, stub_broker):
    for n in range(ENDPOINTS):
        make_endpoint(tenant, f"{receiver.url}/{n}")
    _fan_out(tenant)

    assert stub_broker.queues["webhooks"].qsize() == 20  # 40 ids, two a message
    assert sorted(_sent_ids(stub_broker)) == sorted(Delivery.objects.values_list("id", flat=True))


def test_a_lost_set_message_is_sent_again_by_the_sweep(tenant, receiver, allow_private, stub_broker, settings):
    for n in range(ENDPOINTS):
        make_endpoint(tenant, f"{receiver.url}/{n}")
    _fan_out(tenant)
    stub_broker.flush_all()  # the messages are lost (a broker restart, a killed worker)

    assert outbox.deliveries_enqueue_due() == 0  # their places are still reserved: nothing to send yet
    later = timezone.now() + timedelta(seconds=settings.WEBHOOKS_QUEUE_LEASE) + outbox.ENQUEUE_GRACE
    assert outbox.deliveries_enqueue_due(now=later) == ENDPOINTS
    worker = dramatiq.Worker(stub_broker, worker_timeout=100, worker_threads=2)  # started only now: nothing ran before
    worker.start()
    try:
        stub_broker.join("webhooks")
        worker.join()
    finally:
        worker.stop()

    assert len(receiver.wait_for(ENDPOINTS)) == ENDPOINTS
    assert set(Delivery.objects.values_list("state", flat=True)) == {"succeeded"}
