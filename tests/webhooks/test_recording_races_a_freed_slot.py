"""A delivery recorded while its endpoint's slot is freed, or left free, still gets its message, not only at the sweep.

Recording numbers an endpoint's deliveries under a lock on the endpoint row, held to commit; a
worker that finds nothing due frees its slot. When the recording commits just after that, the
worker looks again once the recording is over (PostgreSQL: the database takes writes at once).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections, transaction
from django.utils import timezone

from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks.engine import claims, turns, wake
from webhooks.models import Delivery, EndpointSlot, SlotState

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _record_in_open_transaction(tenant, recorded: threading.Event, hold_seconds: float) -> None:  # noqa: ANN001
    try:
        with transaction.atomic():
            make_learner(tenant, 2)
            recorded.set()
            time.sleep(hold_seconds)  # the endpoint row stays locked until this commits
    finally:
        connections.close_all()


def test_a_slot_freed_while_a_recording_is_in_flight_is_given_to_its_delivery(tenant, allow_private, stub_broker):
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hooks", max_in_flight=1)
    make_learner(tenant, 1)
    first = Delivery.objects.get(endpoint=endpoint)
    claimed = claims.claim_and_load(first.pk, timezone.now())
    assert claimed is not None  # the endpoint's only slot is busy now

    recorded = threading.Event()
    producer = threading.Thread(target=_record_in_open_transaction, args=(tenant, recorded, 1.5))
    producer.start()
    assert recorded.wait(10)
    # The holder finds nothing due (the new delivery is not committed) and frees the slot.
    following = turns.pass_on(slot_id=claimed.claim.slot_id, token=claimed.claim.token, delivery_id=first.pk, now=timezone.now())
    assert following is None
    started = time.monotonic()

    woken = wake.after_slots_freed(endpoint_ids=[endpoint.pk], now=timezone.now())

    producer.join(10)
    second = Delivery.objects.filter(endpoint=endpoint).exclude(pk=first.pk).get()
    assert woken == [second.pk]
    assert time.monotonic() - started >= 0.2  # it waited for the recording to commit
    slot = EndpointSlot.objects.get(endpoint=endpoint)
    assert (slot.state, slot.delivery_id) == (SlotState.QUEUED, second.pk)


def test_with_nothing_waiting_a_freed_slot_wakes_nothing(tenant, allow_private, stub_broker):
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hooks", max_in_flight=1)
    make_learner(tenant, 1)

    # The one delivery has its message (recording reserved the slot for it): nothing else waits.
    assert wake.after_slots_freed(endpoint_ids=[endpoint.pk], now=timezone.now()) == []
    assert EndpointSlot.objects.get(endpoint=endpoint).state == SlotState.QUEUED


def test_a_delivery_left_waiting_beside_a_free_slot_is_woken_by_the_next_look(tenant, allow_private, stub_broker):
    endpoint = make_endpoint(tenant, "http://127.0.0.1:9/hooks", max_in_flight=1)
    make_learner(tenant, 1)
    make_learner(tenant, 2)
    first, second = Delivery.objects.filter(endpoint=endpoint).order_by("sequence")
    # The state a lost race leaves: the first delivered, its slot free, the second waiting with no message.
    Delivery.objects.filter(pk=first.pk).update(state="succeeded")
    EndpointSlot.objects.filter(endpoint=endpoint).update(state=SlotState.FREE, delivery_id="", claim_token="", leased_until=None)

    woken = wake.after_slots_freed(delivery_ids=[first.pk], now=timezone.now())

    assert woken == [second.pk]
