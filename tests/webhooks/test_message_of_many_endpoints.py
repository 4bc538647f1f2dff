"""A message naming many endpoints' deliveries (an event fanned out wide) delivers each once, together.

Its claims go to the database together, its POSTs are made at once, and what the message leaves
(health counts, a second look at the freed slots) is written once for all its endpoints. A failed
receiver, a delivery another worker holds, or a recording that raced a freed slot changes nothing
for the others.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.webhooks.conftest import Reply
from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks.engine import actors, claims, wake
from webhooks.models import Attempt, Delivery, EndpointHealth, EndpointSlot, SlotState

pytestmark = pytest.mark.django_db(transaction=True)

ENDPOINTS = 6


def _fanned_out(tenant, receiver) -> list[Delivery]:  # noqa: ANN001
    for n in range(ENDPOINTS):
        make_endpoint(tenant, f"{receiver.url}/{n}")
    make_learner(tenant)
    return list(Delivery.objects.order_by("endpoint_id"))


def test_each_endpoint_gets_its_delivery_once_and_its_slot_back(tenant, receiver, allow_private, stub_broker):
    deliveries = _fanned_out(tenant, receiver)

    actors.deliver_set.fn([d.pk for d in deliveries])

    arrived = receiver.wait_for(ENDPOINTS)
    assert sorted(r.path for r in arrived) == sorted(f"/hooks/{n}" for n in range(ENDPOINTS))
    assert set(Delivery.objects.values_list("state", flat=True)) == {"succeeded"}
    assert Attempt.objects.count() == ENDPOINTS
    assert EndpointHealth.objects.filter(last_status_code=200).count() == ENDPOINTS
    assert set(EndpointSlot.objects.values_list("state", flat=True)) == {SlotState.FREE}


def test_a_failing_receiver_is_scheduled_again_and_the_others_delivered(tenant, receiver, allow_private, stub_broker):
    deliveries = _fanned_out(tenant, receiver)
    receiver.reply(Reply(status=500))  # the first POST to arrive, whichever endpoint's it is

    actors.deliver_set.fn([d.pk for d in deliveries])

    receiver.wait_for(ENDPOINTS)
    states = sorted(Delivery.objects.values_list("state", flat=True))
    assert states == ["pending"] + ["succeeded"] * (ENDPOINTS - 1)
    failed = Delivery.objects.get(state="pending")
    assert failed.attempt_count == 1 and failed.last_status_code == 500
    assert EndpointHealth.objects.get(endpoint_id=failed.endpoint_id).failures_in_a_row == 1


def test_a_delivery_held_by_another_worker_is_left_to_it(tenant, receiver, allow_private, stub_broker):
    deliveries = _fanned_out(tenant, receiver)
    held = claims.claim_and_load(deliveries[0].pk, timezone.now())  # another worker is sending it
    assert held is not None

    actors.deliver_set.fn([d.pk for d in deliveries])

    arrived = receiver.wait_for(ENDPOINTS - 1)
    assert len(arrived) == ENDPOINTS - 1
    assert Delivery.objects.get(pk=deliveries[0].pk).state == "sending"
    assert Delivery.objects.filter(state="succeeded").count() == ENDPOINTS - 1


def test_claims_come_back_in_the_order_asked(tenant, receiver, allow_private, stub_broker):
    deliveries = _fanned_out(tenant, receiver)
    asked = [d.pk for d in reversed(deliveries)]

    claimed = claims.claim_many(asked, timezone.now())

    assert [c.delivery.pk if c else None for c in claimed] == asked
    assert len({c.claim.token for c in claimed if c}) == ENDPOINTS  # each its own claim


@pytest.mark.postgres
def test_one_look_wakes_every_endpoint_left_with_a_waiting_delivery(tenant, receiver, allow_private, stub_broker):
    endpoints = [make_endpoint(tenant, f"{receiver.url}/{n}", max_in_flight=1) for n in range(3)]
    make_learner(tenant, 1)
    make_learner(tenant, 2)
    # The state a lost race leaves on the first two: the first delivered, the slot free, the second
    # waiting with no message. The third still has its message (its slot queued): nothing to wake.
    waiting = []
    for endpoint in endpoints[:2]:
        first, second = Delivery.objects.filter(endpoint=endpoint).order_by("sequence")
        Delivery.objects.filter(pk=first.pk).update(state="succeeded")
        EndpointSlot.objects.filter(endpoint=endpoint).update(state=SlotState.FREE, delivery_id="", claim_token="", leased_until=None)
        waiting.append(second.pk)

    woken = wake.after_slots_freed(endpoint_ids=[e.pk for e in endpoints], now=timezone.now())

    assert sorted(woken) == sorted(waiting)
    for endpoint, delivery_id in zip(endpoints, waiting):
        slot = EndpointSlot.objects.get(endpoint=endpoint)
        assert (slot.state, slot.delivery_id) == (SlotState.QUEUED, delivery_id)


@pytest.mark.postgres
def test_when_recording_together_fails_each_is_recorded_alone_and_counted_once(
    tenant, receiver, allow_private, stub_broker, monkeypatch
):
    from django.db import DataError

    from webhooks.engine import sets
    from webhooks.models import Endpoint

    deliveries = _fanned_out(tenant, receiver)
    dead = make_endpoint(tenant, "http://127.0.0.1:9/hooks")  # nothing listens: no answer
    make_learner(tenant, 2)  # one more event: a delivery to every endpoint, the dead one's among them
    ids = [d.pk for d in Delivery.objects.exclude(pk__in=[d.pk for d in deliveries]).order_by("endpoint_id")]

    def fails(*args, **kwargs):  # noqa: ANN002, ANN003
        raise DataError("recording the message's answers together failed")

    monkeypatch.setattr(sets, "record_sets_keeping_turns", fails)
    actors.deliver_set.fn(ids)

    assert receiver.wait_for(ENDPOINTS) and Attempt.objects.filter(delivery_id__in=ids).count() == ENDPOINTS + 1
    assert Endpoint.objects.get(pk=dead.pk).consecutive_failures == 1
    assert Delivery.objects.filter(pk__in=ids, state="succeeded").count() == ENDPOINTS


def _backlog_of_one_endpoint(tenant, receiver, *, cap: int, events: int) -> list[Delivery]:  # noqa: ANN001
    make_endpoint(tenant, f"{receiver.url}/one", max_in_flight=cap)
    for n in range(events):
        make_learner(tenant, n)
    return list(Delivery.objects.order_by("sequence"))


def test_one_endpoint_named_twice_gets_two_claims_in_sequence_order(tenant, receiver, allow_private, stub_broker):
    backlog = _backlog_of_one_endpoint(tenant, receiver, cap=2, events=3)

    # Recording queued a slot each for the first two; the message names them in reverse.
    claimed = claims.claim_many([backlog[1].pk, backlog[0].pk], timezone.now())

    # Whichever deliveries name it, the endpoint's lowest-sequence due ones go first, under two slots.
    assert [c.delivery.sequence if c else None for c in claimed] == [1, 2]
    assert len({c.claim.slot_id for c in claimed if c}) == 2
    assert set(Delivery.objects.filter(state="sending").values_list("sequence", flat=True)) == {1, 2}


def test_a_name_beyond_the_endpoints_cap_claims_nothing(tenant, receiver, allow_private, stub_broker):
    backlog = _backlog_of_one_endpoint(tenant, receiver, cap=1, events=2)

    claimed = claims.claim_many([backlog[1].pk, backlog[0].pk], timezone.now())

    # The one slot is queued for the first delivery: its name claims, the other finds no room.
    assert [c.delivery.sequence if c else None for c in claimed] == [None, 1]
    assert Delivery.objects.filter(state="sending").count() == 1
