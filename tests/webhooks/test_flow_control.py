"""The in-flight cap, the turns between endpoints and the circuit breaker, one step at a time.

Deliveries are sent in this thread (no worker), to a real receiver on 127.0.0.1, with timeouts
shortened through settings.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import TenantFactory
from tests.webhooks.helpers import make_endpoint, make_learner
from tests.webhooks.receivers import SlowReceiver
from webhooks import selectors
from webhooks.engine import claims, delivery, wake
from webhooks.models import Delivery, DeliveryState, Endpoint, EndpointSlot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fast(settings):  # noqa: ANN001, ANN201
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_CONNECT_TIMEOUT = 0.3
    settings.WEBHOOKS_TOTAL_TIMEOUT = 0.3
    settings.WEBHOOKS_BREAKER_THRESHOLD = 3
    settings.WEBHOOKS_BREAKER_COOLDOWN = 30.0
    return settings


@pytest.fixture
def slow_receiver():  # noqa: ANN201
    server = SlowReceiver()
    yield server
    server.close()


def _pending(endpoint: Endpoint) -> list[Delivery]:
    return list(Delivery.objects.filter(endpoint=endpoint).order_by("sequence"))


def test_a_delivery_beyond_the_cap_is_not_started(fast, slow_receiver, tenant, stub_broker):
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=2)
    for n in range(4):
        make_learner(tenant, n)
    one, two, _, four = _pending(endpoint)  # recording reserved the two places for one and two
    now = timezone.now()

    first = claims.claim_and_load(two.pk, now)
    second = claims.claim_and_load(one.pk, now)
    third = claims.claim_and_load(four.pk, now)

    assert first is not None and second is not None and third is None
    # Whatever delivery the message named, the endpoint's lowest sequences start first.
    assert [c.delivery.sequence for c in (first, second)] == [1, 2]
    states = [d.state for d in _pending(endpoint)]
    assert states == [DeliveryState.SENDING, DeliveryState.SENDING, DeliveryState.PENDING, DeliveryState.PENDING]
    flow = selectors.endpoint_flow(tenant=tenant, endpoint=endpoint)
    assert (flow.in_flight, flow.waiting, flow.held_back_reason) == (2, 2, "at_capacity")


def test_a_lease_that_ran_out_frees_the_place(fast, slow_receiver, tenant, settings):
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=1)
    make_learner(tenant, 1)
    make_learner(tenant, 2)
    one, two = _pending(endpoint)
    now = timezone.now()
    assert claims.claim_and_load(one.pk, now) is not None  # a worker that is then killed
    assert claims.claim_and_load(two.pk, now) is None

    later = now + timedelta(seconds=settings.WEBHOOKS_CLAIM_LEASE_SECONDS + 1)
    taken_over = claims.claim_and_load(two.pk, later)

    assert taken_over is not None and taken_over.delivery.sequence == 1  # the killed one, sent again


def test_recording_sends_no_more_messages_than_the_endpoint_has_places(fast, slow_receiver, tenant, stub_broker):
    make_endpoint(tenant, slow_receiver.url, max_in_flight=2)
    for n in range(5):
        make_learner(tenant, n)

    assert stub_broker.queues["webhooks"].qsize() == 2
    assert EndpointSlot.objects.filter(state="queued").count() == 2


def test_the_sweep_lets_endpoints_take_turns(fast, slow_receiver, stub_broker):
    busy, quiet = TenantFactory(), TenantFactory()
    busy_endpoint = make_endpoint(busy, slow_receiver.url, max_in_flight=2)
    quiet_endpoint = make_endpoint(quiet, slow_receiver.url, max_in_flight=2)
    for n in range(6):
        make_learner(busy, n)
    make_learner(quiet, 100)
    stub_broker.flush_all()
    EndpointSlot.objects.update(state="free", delivery_id="", leased_until=None)  # every message was lost

    woken = wake.wake_due(now=timezone.now(), stale_before=timezone.now())

    endpoints = [Delivery.objects.get(pk=pk).endpoint_id for pk in woken]
    assert len(woken) == 3  # two places for the busy endpoint, one delivery for the quiet one
    assert endpoints[:2] in ([busy_endpoint.pk, quiet_endpoint.pk], [quiet_endpoint.pk, busy_endpoint.pk])
    assert [Delivery.objects.get(pk=pk).sequence for pk in woken if pk in {d.pk for d in _pending(busy_endpoint)}] == [
        1,
        2,
    ]


def test_timeouts_open_the_circuit_and_later_deliveries_are_deferred_not_failed(
    fast, slow_receiver, tenant, stub_broker
):
    slow_receiver.hang = 2.0
    endpoint = make_endpoint(tenant, slow_receiver.url, retry_policy="exponential")
    for n in range(6):
        make_learner(tenant, n)
    attempts = [delivery.send(delivery_id=d.pk) for d in _pending(endpoint)[:4]]

    assert [a is not None and a.error.startswith("timeout") for a in attempts] == [True, True, True, False]
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 3 and endpoint.circuit_open_until > timezone.now()
    deferred = _pending(endpoint)[3:]
    assert all(d.attempt_count == 0 and d.state == DeliveryState.PENDING for d in deferred)
    assert endpoint.enabled
    shown = selectors.endpoint_json(endpoint)["flow"]
    assert shown["circuit"] == "open" and shown["heldBackReason"] == "circuit_open" and shown["heldBack"]
    assert "3 consecutive attempts without an answer" in shown["heldBackMessage"]


def test_one_probe_after_the_cool_down_and_an_answer_closes_the_circuit(fast, slow_receiver, tenant, stub_broker):
    slow_receiver.hang = 2.0
    endpoint = make_endpoint(tenant, slow_receiver.url, retry_policy="exponential")
    for n in range(6):
        make_learner(tenant, n)
    hint = _pending(endpoint)[-1].pk
    for d in _pending(endpoint)[:3]:
        delivery.send(delivery_id=d.pk)
    after_cool_down = timezone.now() + timedelta(seconds=31)

    probe = claims.claim_and_load(hint, after_cool_down)
    assert probe is not None and claims.claim_and_load(hint, after_cool_down) is None  # a single probe
    EndpointSlot.objects.update(state="free", claim_token="", leased_until=None)
    Delivery.objects.filter(state=DeliveryState.SENDING).update(state=DeliveryState.PENDING, claim_token="")

    slow_receiver.hang = 0.0
    answered = delivery.send(delivery_id=hint, now=after_cool_down)

    assert answered is not None and answered.succeeded
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.circuit_open_until is None
    assert selectors.endpoint_json(endpoint)["flow"]["circuit"] == "closed"


def test_an_http_error_is_an_answer_and_does_not_trip_the_breaker(fast, receiver, tenant, stub_broker):
    from tests.webhooks.conftest import Reply

    receiver.default = Reply(status=500)
    endpoint = make_endpoint(tenant, receiver.url, retry_policy="exponential")
    for n in range(5):
        make_learner(tenant, n)
    for d in _pending(endpoint):
        delivery.send(delivery_id=d.pk)

    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.circuit_open_until is None
    assert Delivery.objects.filter(endpoint=endpoint, attempt_count=1).count() == 5


def test_a_ping_goes_at_once_whatever_the_circuit_says(fast, receiver, tenant, stub_broker):
    from webhooks.services import endpoint_ping

    endpoint = make_endpoint(tenant, receiver.url)
    make_learner(tenant, 1)  # a due delivery the ping must not send in its place
    Endpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=5, circuit_open_until=timezone.now() + timedelta(minutes=5)
    )

    ping = endpoint_ping(endpoint=endpoint)
    attempt = delivery.send(delivery_id=ping.pk)  # as the worker that takes its message would

    assert attempt is not None and attempt.succeeded
    assert [r.header("X-Skillhub-Event") for r in receiver.requests] == ["webhook.ping"]
