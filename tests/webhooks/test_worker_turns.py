"""A worker's turn on a busy endpoint: it sends the endpoint's backlog in sequence order on one
thread, with no broker message between deliveries, until its turn ends or the endpoint may no
longer have it (disabled, circuit open).

Each test runs on the portable statements and, on PostgreSQL, on the one-statement path that
records an attempt and claims the next delivery together.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection, transaction

from tests.webhooks.helpers import make_endpoint
from webhooks.engine import delivery, fanout
from webhooks.models import Delivery, DeliveryState, Endpoint, EndpointSlot, SlotState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["portable", "postgres"])
def statements(request, settings):  # noqa: ANN001, ANN201
    """Which statements the hot path runs; the PostgreSQL ones only where the database is PostgreSQL."""
    fast = request.param == "postgres"
    if fast and connection.vendor != "postgresql":
        pytest.skip("the one-statement path runs on PostgreSQL only")
    settings.DATABASE_POSTGRES_STATEMENTS = fast
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    return request.param


def _queue(tenant: Any, endpoint: Endpoint, count: int) -> list[str]:
    """Record `count` events, one transaction each, as services do; return the deliveries in sequence order."""
    for n in range(count):
        with transaction.atomic():
            fanout.record(
                tenant_id=tenant.pk, event_type="learner.updated", data={"id": f"L{n}"}, subject_type="learner", subject_id=f"L{n}"
            )
    return list(Delivery.objects.filter(endpoint=endpoint).order_by("sequence").values_list("id", flat=True))


def _messages(broker: Any) -> int:
    """Delivery messages waiting in the test broker (delayed ones included)."""
    return sum(queue.qsize() for queue in broker.queues.values())


def _sent_ids(receiver: Any) -> list[str]:
    return [json.loads(r.body)["data"]["id"] for r in receiver.requests]


def test_a_turn_sends_the_backlog_in_sequence_order_without_broker_messages(
    statements, tenant, receiver, stub_broker, settings
):
    settings.WEBHOOKS_TURN_SECONDS = 60.0
    endpoint = make_endpoint(tenant, receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 5)
    messages_before = _messages(stub_broker)

    delivery.dispatch(delivery_id=ids[0])

    assert _sent_ids(receiver) == ["L0", "L1", "L2", "L3", "L4"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}
    assert _messages(stub_broker) == messages_before  # the thread kept the endpoint; nothing was queued
    assert list(EndpointSlot.objects.filter(endpoint=endpoint).values_list("state", flat=True)) == [SlotState.FREE]


def test_when_the_turn_ends_the_next_delivery_waits_for_its_message(statements, tenant, receiver, stub_broker, settings):
    settings.WEBHOOKS_TURN_SECONDS = 0.0
    endpoint = make_endpoint(tenant, receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 3)
    messages_before = _messages(stub_broker)

    delivery.dispatch(delivery_id=ids[0])

    assert _sent_ids(receiver) == ["L0"]
    assert _messages(stub_broker) == messages_before + 1  # to the back of the queue, behind other endpoints
    slot = EndpointSlot.objects.get(endpoint=endpoint)
    assert (slot.state, slot.delivery_id) == (SlotState.QUEUED, ids[1])
    assert Delivery.objects.get(pk=ids[1]).state == DeliveryState.PENDING


def test_an_endpoint_disabled_during_a_turn_gets_nothing_more(statements, tenant, receiver, stub_broker, settings, monkeypatch):
    settings.WEBHOOKS_TURN_SECONDS = 60.0
    endpoint = make_endpoint(tenant, receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 3)
    real_finish = delivery._finish_set

    def disable_then_finish(*args: Any, **kwargs: Any) -> Any:
        Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False)  # an admin, while the POST was out
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(delivery, "_finish_set", disable_then_finish)
    delivery.dispatch(delivery_id=ids[0])

    assert _sent_ids(receiver) == ["L0"]
    assert [Delivery.objects.get(pk=i).state for i in ids] == [DeliveryState.SUCCEEDED, DeliveryState.PENDING, DeliveryState.PENDING]
    assert EndpointSlot.objects.get(endpoint=endpoint).state == SlotState.FREE


def test_a_turn_stops_when_the_circuit_opens(statements, tenant, stub_broker, settings):
    settings.WEBHOOKS_TURN_SECONDS = 60.0
    settings.WEBHOOKS_BREAKER_THRESHOLD = 1
    settings.WEBHOOKS_CONNECT_TIMEOUT = 0.5
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hooks", max_in_flight=1)  # nothing listens on port 9
    ids = _queue(tenant, endpoint, 3)

    delivery.dispatch(delivery_id=ids[0])

    attempts = {i: Delivery.objects.get(pk=i).attempt_count for i in ids}
    assert attempts == {ids[0]: 1, ids[1]: 0, ids[2]: 0}  # held back, not failed
    endpoint.refresh_from_db()
    assert endpoint.circuit_open_until is not None
    assert EndpointSlot.objects.get(endpoint=endpoint).state == SlotState.FREE


def test_a_turn_leaves_a_delivery_that_has_its_own_message_to_that_message(
    statements, tenant, receiver, stub_broker, settings
):
    settings.WEBHOOKS_TURN_SECONDS = 60.0
    endpoint = make_endpoint(tenant, receiver.url, max_in_flight=2)
    ids = _queue(tenant, endpoint, 4)  # the first two were given a place and a message each
    messages_before = _messages(stub_broker)

    delivery.dispatch(delivery_id=ids[0])
    assert _sent_ids(receiver) == ["L0", "L2", "L3"]
    assert Delivery.objects.get(pk=ids[1]).state == DeliveryState.PENDING

    delivery.dispatch(delivery_id=ids[1])  # its message arrives: it finds its delivery, not nothing
    assert _sent_ids(receiver) == ["L0", "L2", "L3", "L1"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}
    assert _messages(stub_broker) == messages_before
    assert set(EndpointSlot.objects.filter(endpoint=endpoint).values_list("state", flat=True)) == {SlotState.FREE}
