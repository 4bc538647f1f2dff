"""The retry table, with the clock in the test's hand: schedules, giving up, 4xx, 410, 429 and Retry-After."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from tests.webhooks.conftest import Reply
from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks import services
from webhooks.engine import retry
from webhooks.engine.delivery import send as send_delivery
from webhooks.models import Delivery, DeliveryState, Endpoint, Event

pytestmark = pytest.mark.django_db

STANDARD_OFFSETS = [timedelta(0), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=24)]


@pytest.fixture
def t0():
    return timezone.now() + timedelta(seconds=1)


def _fail_until_given_up(delivery: Delivery, start):
    """Attempt the delivery each time it is due; return the times of the attempts."""
    times, now = [], start
    while True:
        attempt = send_delivery(delivery_id=delivery.pk, now=now)
        assert attempt is not None, f"not due at {now}"
        times.append(now)
        delivery.refresh_from_db()
        if delivery.next_attempt_at is None:
            return times
        early = delivery.next_attempt_at - timedelta(milliseconds=1)
        assert send_delivery(delivery_id=delivery.pk, now=early) is None  # not a moment early
        now = delivery.next_attempt_at


def test_the_table_is_the_spec_schedule():
    standard, exponential = retry.POLICIES["standard"], retry.POLICIES["exponential"]
    assert standard.delays == tuple(STANDARD_OFFSETS)
    assert exponential.max_attempts == 60
    assert [d.total_seconds() for d in exponential.delays[:13]] == [
        0,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        1024,
        2048,
        3600,
    ]
    assert all(d == timedelta(hours=1) for d in exponential.delays[12:])
    assert timedelta(days=1.9) < sum(exponential.delays, timedelta()) < timedelta(days=2.1)


def test_standard_policy_retries_on_schedule_then_disables_endpoint(tenant, receiver, allow_private, t0):
    failing = make_endpoint(tenant, receiver.url)
    watcher = make_endpoint(tenant, receiver.url.replace("/hooks", "/watcher"))
    receiver.default = Reply(status=500)
    make_learner(tenant)
    delivery = Delivery.objects.get(endpoint=failing)

    times = _fail_until_given_up(delivery, t0)

    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps == STANDARD_OFFSETS[1:]
    assert delivery.state == DeliveryState.FAILED and delivery.attempt_count == 5
    assert delivery.attempts.count() == 5
    failing.refresh_from_db()
    assert failing.enabled is False
    assert failing.deactivate_reason == "5 attempts failed (last: HTTP 500)"
    disabled = Event.objects.get(type="endpoint.disabled")
    assert disabled.data["id"] == failing.pk
    assert Delivery.objects.filter(event=disabled, endpoint=watcher).exists()
    assert not Delivery.objects.filter(event=disabled, endpoint=failing).exists()


def test_exponential_policy_retries_60_times_doubling_to_an_hour_then_disables(tenant, receiver, allow_private, t0):
    endpoint = make_endpoint(tenant, receiver.url, retry_policy="exponential")
    receiver.default = Reply(status=503)
    make_learner(tenant)
    delivery = Delivery.objects.get(endpoint=endpoint)

    times = _fail_until_given_up(delivery, t0)

    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert len(times) == 60
    assert gaps[:12] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600]
    assert set(gaps[11:]) == {3600}
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.deactivate_reason.startswith("60 attempts failed")


def test_exponential_policy_disables_endpoint_on_404_at_once(tenant, receiver, allow_private, t0):
    endpoint = make_endpoint(tenant, receiver.url, retry_policy="exponential")
    receiver.reply(Reply(status=404))
    make_learner(tenant)

    send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    endpoint.refresh_from_db()
    assert not endpoint.enabled and "404" in endpoint.deactivate_reason
    assert Delivery.objects.get().state == DeliveryState.FAILED


def test_standard_policy_retries_4xx_like_5xx(tenant, receiver, allow_private, t0):
    endpoint = make_endpoint(tenant, receiver.url)
    receiver.reply(Reply(status=404))
    make_learner(tenant)

    send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    endpoint.refresh_from_db()
    delivery = Delivery.objects.get()
    assert endpoint.enabled
    assert delivery.state == DeliveryState.PENDING and delivery.next_attempt_at == t0 + timedelta(minutes=5)


@pytest.mark.parametrize("policy", ["standard", "exponential"])
def test_410_gone_disables_at_once_under_both_policies(tenant, receiver, allow_private, t0, policy):
    endpoint = make_endpoint(tenant, receiver.url, retry_policy=policy)
    receiver.reply(Reply(status=410))
    make_learner(tenant)

    send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.deactivate_reason == "The receiver answered 410 Gone"


@pytest.mark.parametrize("policy", ["standard", "exponential"])
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_when_longer(tenant, receiver, allow_private, t0, policy, status):
    endpoint = make_endpoint(tenant, receiver.url, retry_policy=policy)
    receiver.reply(Reply(status=status, headers={"Retry-After": "3600"}))
    make_learner(tenant)

    send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    endpoint.refresh_from_db()
    assert endpoint.enabled  # "come back later" never disables
    assert Delivery.objects.get().next_attempt_at == t0 + timedelta(hours=1)


def test_retry_after_shorter_than_the_schedule_is_ignored(tenant, receiver, allow_private, t0):
    make_endpoint(tenant, receiver.url)
    receiver.reply(Reply(status=429, headers={"Retry-After": "10"}))
    make_learner(tenant)

    send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    assert Delivery.objects.get().next_attempt_at == t0 + timedelta(minutes=5)


def test_retry_after_as_an_http_date(tenant, receiver, allow_private, t0):
    make_endpoint(tenant, receiver.url)
    when = (t0 + timedelta(hours=3)).replace(microsecond=0)
    receiver.reply(Reply(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    make_learner(tenant)

    send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    assert Delivery.objects.get().next_attempt_at == when


def test_success_after_failures_ends_the_schedule(tenant, receiver, allow_private, t0):
    endpoint = make_endpoint(tenant, receiver.url)
    receiver.reply(Reply(status=500), Reply(status=502))
    make_learner(tenant)
    delivery = Delivery.objects.get()

    send_delivery(delivery_id=delivery.pk, now=t0)
    send_delivery(delivery_id=delivery.pk, now=t0 + timedelta(minutes=5))
    send_delivery(delivery_id=delivery.pk, now=t0 + timedelta(minutes=35))

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.next_attempt_at is None
    assert [a.status_code for a in delivery.attempts.all()] == [500, 502, 200]
    assert Endpoint.objects.get(pk=endpoint.pk).enabled


def test_redirect_is_not_followed_and_counts_as_a_failure(tenant, receiver, allow_private, t0):
    make_endpoint(tenant, receiver.url)
    receiver.reply(Reply(status=302, headers={"Location": receiver.url + "/elsewhere"}))
    make_learner(tenant)

    send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    assert len(receiver.requests) == 1
    assert Delivery.objects.get().state == DeliveryState.PENDING


def test_unreachable_receiver_is_a_retried_failure(tenant, allow_private, t0):
    make_endpoint(tenant, "http://127.0.0.1:9/hooks")  # discard port: nothing listens
    make_learner(tenant)

    attempt = send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    assert attempt.status_code is None and attempt.error
    assert Delivery.objects.get().next_attempt_at == t0 + timedelta(minutes=5)


def test_disabled_endpoint_holds_its_deliveries_and_re_enable_resumes_them(
    tenant, receiver, allow_private, t0, stub_broker, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(tenant, receiver.url, retry_policy="exponential")
    receiver.reply(Reply(status=400))
    make_learner(tenant, 1)
    first = Delivery.objects.get()
    send_delivery(delivery_id=first.pk, now=t0)
    make_learner(tenant, 2)  # recorded while disabled: no delivery for a disabled endpoint
    endpoint.refresh_from_db()
    assert not endpoint.enabled and Delivery.objects.filter(endpoint=endpoint).count() == 1
    # A delivery that was pending when the endpoint went off stays pending, untouched.
    make_learner(tenant, 3)
    held = Delivery.objects.create(
        tenant=tenant,
        event=Event.objects.filter(type="learner.created").last(),
        endpoint=endpoint,
        event_type="learner.created",
        sequence=99,
        next_attempt_at=t0,
    )
    assert send_delivery(delivery_id=held.pk, now=t0) is None
    held.refresh_from_db()
    assert held.state == DeliveryState.PENDING and held.attempts.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.endpoint_enable(endpoint=endpoint)

    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.deactivate_reason == ""
    assert [m.args[0] for m in _messages(stub_broker)] == [held.pk]
    assert send_delivery(delivery_id=held.pk) is not None
    held.refresh_from_db()
    assert held.state == DeliveryState.SUCCEEDED


def _messages(broker):
    from dramatiq import Message

    return [Message.decode(raw) for raw in list(broker.queues["webhooks"].queue)]


def test_an_unexpected_error_while_sending_is_a_recorded_failed_attempt(tenant, receiver, allow_private, t0, monkeypatch):
    from webhooks.engine import payloads

    make_endpoint(tenant, receiver.url)
    make_learner(tenant)

    def broken(**kwargs):
        raise KeyError("a bug while building headers")

    monkeypatch.setattr(payloads, "request_headers", broken)
    attempt = send_delivery(delivery_id=Delivery.objects.get().pk, now=t0)

    assert attempt.status_code is None and attempt.error == "could not send: KeyError"
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.next_attempt_at == t0 + timedelta(minutes=5)
    assert receiver.requests == []
