"""The webhook answers at once and an actor resolves after commit; a lost message is re-sent by the sweep."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from signals_inbox.models import Need, Signal, Target
from tests.factories import LearnerFactory, TenantFactory
from tests.signals_inbox.factories import issue_secret, post_signal, signal_body

pytestmark = pytest.mark.django_db(transaction=True)


def _run_queued(broker, queue_name: str = "signals") -> int:
    """Run every queued message's actor in this thread (a worker's threads would keep DB connections open)."""
    import dramatiq

    from skillhub.tasks import import_actors

    import_actors()
    queue = broker.queues[queue_name]
    ran = 0
    while not queue.empty():
        message = dramatiq.Message.decode(queue.get_nowait())
        broker.get_actor(message.actor_name).fn(*message.args, **message.kwargs)
        queue.task_done()
        ran += 1
    return ran


def test_actor_resolves_the_signal_after_the_webhook_answered(client, stub_broker):
    tenant = TenantFactory()
    secret = issue_secret(tenant)
    learner = LearnerFactory(tenant=tenant, external_worker_id="W-1")

    response = post_signal(client, tenant.slug, signal_body(external_worker_id="W-1", topic="WAH"), secret=secret)
    assert Signal.objects.get(pk=response.json()["signalId"]).resolved_at is None  # answered before resolving
    assert _run_queued(stub_broker) == 1

    signal = Signal.objects.get(pk=response.json()["signalId"])
    assert signal.resolved_at is not None
    assert Need.objects.get().learner_id == learner.pk


def test_sweep_resends_a_signal_whose_message_was_lost(client, stub_broker):
    from signals_inbox.sweeps import resend_unresolved_signals

    tenant = TenantFactory()
    secret = issue_secret(tenant)
    response = post_signal(client, tenant.slug, signal_body("signal.incident", site="Site A", topic="Manual Handling"), secret=secret)
    stub_broker.flush_all()  # the broker lost the message
    Signal.objects.update(received_at=timezone.now() - timedelta(minutes=5))

    sent = resend_unresolved_signals()
    _run_queued(stub_broker)

    assert sent == 1
    assert Signal.objects.get(pk=response.json()["signalId"]).resolved_at is not None
    assert Need.objects.get().target == Target.COHORT
    assert resend_unresolved_signals() == 0


def test_a_resent_data_point_of_a_resolved_need_is_stored_resolved_without_a_message(client, stub_broker):
    tenant = TenantFactory()
    secret = issue_secret(tenant)
    body = signal_body("signal.incident", site="Site A", topic="Manual Handling")
    post_signal(client, tenant.slug, body, secret=secret)
    assert _run_queued(stub_broker) == 1

    again = post_signal(client, tenant.slug, body, secret=secret).json()

    assert again["deduped"] is True
    assert stub_broker.queues["signals"].empty()
    assert Signal.objects.get(pk=again["signalId"]).resolved_at is not None
    need = Need.objects.get()
    assert (need.signal_count, need.target) == (2, Target.COHORT)


def test_a_resent_data_point_of_an_unmatched_need_goes_to_the_actor_to_match_again(client, stub_broker):
    tenant = TenantFactory()
    secret = issue_secret(tenant)
    first = signal_body(external_worker_id="W-404", topic="Working at Heights")
    post_signal(client, tenant.slug, first, secret=secret)
    _run_queued(stub_broker)
    assert Need.objects.get().target == Target.UNMATCHED

    # The sender now also names the worker by an e-mail address that matches a learner.
    learner = LearnerFactory(tenant=tenant, email="sam@example.com")
    Need.objects.update(target=Target.UNMATCHED, learner=None)  # as if learner writes had not re-matched it
    again = post_signal(client, tenant.slug, signal_body(external_worker_id="W-404", email="sam@example.com", topic="Working at Heights"), secret=secret)

    assert again.json()["deduped"] is True
    assert Signal.objects.get(pk=again.json()["signalId"]).resolved_at is None
    assert _run_queued(stub_broker) == 1
    need = Need.objects.get()
    assert (need.target, need.learner_id) == (Target.WORKER, learner.pk)
