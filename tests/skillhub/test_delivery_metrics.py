"""Delivery outcomes as counted: a 410 fails the delivery and disables its endpoint; no answer opens the circuit."""
from __future__ import annotations

import pytest

from skillhub import metrics
from tests.skillhub.observing import StatusReceiver
from tests.skillhub.serving import free_port
from tests.webhooks.helpers import make_endpoint, make_learner, send_due
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def _count(outcome: str) -> float:
    return metrics.sample("skillhub_webhook_deliveries_total", {"outcome": outcome})


def test_a_410_counts_a_failed_delivery_and_a_disabled_endpoint(tenant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    gone = StatusReceiver(410)
    try:
        endpoint = make_endpoint(tenant, gone.url, events=["learner.created"])
        make_learner(tenant, 1)
        before = {outcome: _count(outcome) for outcome in ("failed", "disabled", "delivered", "retry_scheduled")}

        send_due()
    finally:
        gone.close()

    assert not Endpoint.objects.get(pk=endpoint.pk).enabled
    assert _count("failed") == before["failed"] + 1
    assert _count("disabled") == before["disabled"] + 1
    assert _count("delivered") == before["delivered"] and _count("retry_scheduled") == before["retry_scheduled"]


def test_an_attempt_without_an_answer_that_opens_the_circuit_counts_as_deferred(tenant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_BREAKER_THRESHOLD = 1
    closed_port = free_port(8400, 8439)  # nothing listens there: the connection is refused
    endpoint = make_endpoint(tenant, f"http://127.0.0.1:{closed_port}/hooks", events=["learner.created"])
    make_learner(tenant, 1)
    before = {outcome: _count(outcome) for outcome in ("deferred", "retry_scheduled")}
    attempts_before = metrics.sample("skillhub_webhook_attempt_duration_seconds_count")

    send_due()

    assert Endpoint.objects.get(pk=endpoint.pk).circuit_open_until is not None
    assert _count("deferred") == before["deferred"] + 1
    assert _count("retry_scheduled") == before["retry_scheduled"] + 1
    assert metrics.sample("skillhub_webhook_attempt_duration_seconds_count") == attempts_before + 1
