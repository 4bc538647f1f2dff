"""The webhook answers at once and an actor resolves after commit; a lost message is re-sent by the sweep."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from signals_inbox.models import Need, Signal, Target
from tests.factories import LearnerFactory, TenantFactory
from tests.signals_inbox.factories import issue_secret, post_signal, signal_body

pytestmark = pytest.mark.django_db(transaction=True)


def _run_queued(broker, queue_name: str = "signals") -> int:  # noqa: ANN001
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
