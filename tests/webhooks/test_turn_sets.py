"""A worker's turn a set at a time: each set is claimed in sequence order under one slot, never
widens the in-flight cap, and every delivery of a set gets its attempt row.

Each test runs on the portable statements and, on PostgreSQL, on the statement that records a set
and claims the next one together.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tests.webhooks.helpers import make_endpoint
from tests.webhooks.receivers import SlowReceiver
from webhooks.engine import delivery, fanout, transport
from webhooks.models import Attempt, Delivery, DeliveryState, Endpoint, EndpointSlot, SlotState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["portable", "postgres"])
def statements(request, settings):  # noqa: ANN001, ANN201
    """Which statements the hot path runs; the PostgreSQL ones only where the database is PostgreSQL."""
    fast = request.param == "postgres"
    if fast and connection.vendor != "postgresql":
        pytest.skip("the one-statement path runs on PostgreSQL only")
    settings.DATABASE_POSTGRES_STATEMENTS = fast
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_TURN_SECONDS = 60.0
    settings.WEBHOOKS_TURN_SET = 4
    settings.WEBHOOKS_HANDOFF_AFTER = 5.0  # the first answer is awaited in the worker's thread, so its turn begins on a busy machine too
    return request.param


@pytest.fixture
def slow_receiver():  # noqa: ANN201
    receiver = SlowReceiver()
    yield receiver
    receiver.close()


def _queue(tenant: Any, endpoint: Endpoint, count: int) -> list[str]:
    """Record `count` events, one transaction each; return the endpoint's deliveries in sequence order."""
    for n in range(count):
        with transaction.atomic():
            fanout.record(
                tenant_id=tenant.pk, event_type="learner.updated", data={"id": f"L{n}"}, subject_type="learner", subject_id=f"L{n}"
            )
    return list(Delivery.objects.filter(endpoint=endpoint).order_by("sequence").values_list("id", flat=True))


def _watch_sets(monkeypatch: Any) -> list[list[int]]:
    """Record the sequence numbers of every set a turn claims, as it is about to send it."""
    claimed_sets: list[list[int]] = []
    real_send_set = delivery._send_set

    def watched(claimed: list[Any]) -> Any:
        claimed_sets.append([one.delivery.sequence for one in claimed])
        return real_send_set(claimed)

    monkeypatch.setattr(delivery, "_send_set", watched)
    return claimed_sets


def test_every_delivery_of_a_set_gets_its_attempt_row(statements, tenant, slow_receiver, stub_broker, monkeypatch):
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 11)
    claimed_sets = _watch_sets(monkeypatch)

    delivery.dispatch(delivery_id=ids[0])

    assert claimed_sets == [[2, 3, 4, 5], [6, 7, 8, 9], [10, 11]]  # after the first, sets of up to 4, in order
    assert [a.sequence for a in slow_receiver.answered()] == list(range(1, 12))
    attempts = sorted(Attempt.objects.values_list("delivery_id", "number", "status_code", "succeeded"))
    assert attempts == sorted((i, 1, 200, True) for i in ids)
    assert set(Delivery.objects.values_list("state", "attempt_count")) == {(DeliveryState.SUCCEEDED, 1)}
    assert list(EndpointSlot.objects.filter(endpoint=endpoint).values_list("state", flat=True)) == [SlotState.FREE]


def test_a_set_stops_at_a_receiver_that_does_not_answer_and_gives_the_rest_back(
    statements, tenant, slow_receiver, stub_broker, monkeypatch, settings
):
    settings.WEBHOOKS_BREAKER_THRESHOLD = 1  # the first unanswered request opens the circuit: the turn ends
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 6)
    real_post = transport.post
    posts: list[str] = []

    def second_goes_unanswered(url: str, **kwargs: Any) -> transport.HttpResult:
        posts.append(kwargs["headers"]["webhook-id"])
        if len(posts) == 3:  # the second delivery of the first set
            return transport.HttpResult(None, {}, "", "timed out", 10)
        return real_post(url, **kwargs)

    monkeypatch.setattr(transport, "post", second_goes_unanswered)
    delivery.dispatch(delivery_id=ids[0])

    rows = {d.pk: d for d in Delivery.objects.all()}
    assert [rows[i].attempt_count for i in ids] == [1, 1, 1, 0, 0, 0]
    assert [rows[i].state for i in ids[3:]] == [DeliveryState.PENDING] * 3
    assert all(rows[i].claim_token == "" and rows[i].claimed_until is None for i in ids[3:])  # given back, due as before
    assert Attempt.objects.filter(delivery_id__in=ids[3:]).count() == 0


@pytest.mark.postgres
def test_two_workers_sets_never_exceed_the_cap_nor_break_sequence_order(
    statements, tenant, slow_receiver, stub_broker, monkeypatch, settings
):
    if statements != "postgres":
        pytest.skip("two concurrent workers need a database that lets two writers in at once")
    settings.WEBHOOKS_TURN_SET = 3
    slow_receiver.delay = 0.01
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=2)
    ids = _queue(tenant, endpoint, 30)  # the first two were given a place and a message each
    claimed_sets = _watch_sets(monkeypatch)
    errors: list[BaseException] = []

    def worker(delivery_id: str) -> None:
        try:
            delivery.dispatch(delivery_id=delivery_id)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert slow_receiver.max_concurrent <= 2  # the cap, at the receiver
    assert all(s == sorted(s) and len(s) <= 3 for s in claimed_sets)  # each set in sequence order
    claimed = [n for s in claimed_sets for n in s]
    assert len(claimed) == len(set(claimed))  # no delivery in two sets
    assert sorted(a.sequence for a in slow_receiver.answered()) == list(range(1, 31))  # each sent once
    assert Attempt.objects.count() == 30


def test_a_slow_receivers_sets_fit_what_is_left_of_the_turn(statements, tenant, slow_receiver, stub_broker, monkeypatch, settings):
    settings.WEBHOOKS_TURN_SECONDS = 0.5
    settings.WEBHOOKS_TURN_SET = 64
    slow_receiver.delay = 0.05  # about ten answers fit in a turn
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 40)
    claimed_sets = _watch_sets(monkeypatch)

    delivery.dispatch(delivery_id=ids[0])

    assert claimed_sets and max(len(s) for s in claimed_sets) <= 12  # not the 39 waiting, nor 64
    sent_in_turn = 1 + sum(len(s) for s in claimed_sets)
    assert sent_in_turn < 40  # the turn ended with deliveries still waiting: their message goes to the queue's back
    following = Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).order_by("sequence").first()
    assert following is not None and following.sequence == sent_in_turn + 1
    assert [a.sequence for a in slow_receiver.answered()] == list(range(1, sent_in_turn + 1))


def test_a_fast_receivers_sets_are_as_large_as_allowed(statements, tenant, slow_receiver, stub_broker, monkeypatch, settings):
    settings.WEBHOOKS_TURN_SECONDS = 60.0
    settings.WEBHOOKS_TURN_SET = 8
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 20)
    claimed_sets = _watch_sets(monkeypatch)

    delivery.dispatch(delivery_id=ids[0])

    assert [len(s) for s in claimed_sets] == [8, 8, 3]
    assert [a.sequence for a in slow_receiver.answered()] == list(range(1, 21))


def test_a_set_gives_back_what_half_the_claim_lease_did_not_cover(statements, tenant, slow_receiver, stub_broker, monkeypatch, settings):
    settings.WEBHOOKS_TURN_SECONDS = 60.0
    settings.WEBHOOKS_TURN_SET = 8
    settings.WEBHOOKS_CLAIM_LEASE_SECONDS = 2.0  # half of it covers about two answers below
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 12)
    slow_receiver.delay = 0.4  # the receiver slowed down after the turn began
    claimed_sets = _watch_sets(monkeypatch)
    real_send_set = delivery._send_set
    cut_short: list[int] = []

    def watched(claimed: list[Any]) -> Any:
        sent, unsent = real_send_set(claimed)
        if unsent:
            cut_short.append(len(unsent))
        return sent, unsent

    monkeypatch.setattr(delivery, "_send_set", watched)
    delivery.dispatch(delivery_id=ids[0])

    assert cut_short, "a set stopped before its claims' lease was half gone"
    assert claimed_sets[1][0] == claimed_sets[0][len(claimed_sets[0]) - cut_short[0]]  # the rest claimed again, in order
    assert [a.sequence for a in slow_receiver.answered()] == list(range(1, 13))  # each sent once, in sequence order
    assert sorted(Attempt.objects.values_list("delivery_id", "number")) == sorted((i, 1) for i in ids)


def test_a_set_recorded_after_its_claims_lease_ran_out_is_not_claimed_again(
    statements, tenant, slow_receiver, stub_broker, monkeypatch
):
    # The statement that records a set and claims the next reads the table as it was before its own
    # writes: a sent delivery whose lease ran out still looks due there, and must not be taken again.
    endpoint = make_endpoint(tenant, slow_receiver.url, max_in_flight=1)
    ids = _queue(tenant, endpoint, 10)
    claimed_sets = _watch_sets(monkeypatch)
    real_send_set = delivery._send_set

    def lease_runs_out_while_sending(claimed: list[Any]) -> Any:
        sent, unsent = real_send_set(claimed)
        Delivery.objects.filter(pk__in=[one.claim.delivery_id for one in claimed]).update(
            claimed_until=timezone.now() - timedelta(seconds=1)
        )
        return sent, unsent

    monkeypatch.setattr(delivery, "_send_set", lease_runs_out_while_sending)
    delivery.dispatch(delivery_id=ids[0])

    assert claimed_sets == [[2, 3, 4, 5], [6, 7, 8, 9], [10]]
    assert [a.sequence for a in slow_receiver.answered()] == list(range(1, 11))  # each sent once
    assert sorted(Attempt.objects.values_list("delivery_id", "number")) == sorted((i, 1) for i in ids)
    assert set(Delivery.objects.values_list("state", "claim_token")) == {(DeliveryState.SUCCEEDED, "")}
