"""Webhook endpoints in the console: health columns, the delivery log and its buttons, closed per tenant."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tenants.services import console_admin_create
from tests.factories import TenantFactory
from tests.webhooks.conftest import Reply
from tests.webhooks.helpers import make_endpoint, make_learner, send_due
from webhooks.models import Attempt, Delivery, DeliveryState, Endpoint, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, tenant):  # noqa: ANN001, ANN201
    console_admin_create(tenant=tenant, username="ops", password="pw-console-12345")
    client.login(username="ops", password="pw-console-12345")
    return client


def _page(endpoint: Endpoint) -> str:
    return reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])


def test_list_shows_health_success_rate_and_failures_in_a_row(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    receiver.reply(Reply(status=200), Reply(status=500), Reply(status=500))
    for n in range(3):
        make_learner(tenant, n)
        send_due()
    page = console.get(reverse("admin:webhooks_endpoint_changelist")).content.decode()
    assert "2 failures in a row" in page
    assert "33%" in page and "of 3" in page
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, deactivate_reason="410 Gone from the receiver")
    assert "410 Gone from the receiver" in console.get(reverse("admin:webhooks_endpoint_changelist")).content.decode()


def test_ping_shows_the_attempt_in_the_delivery_log(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    response = console.post(reverse("admin:webhooks_endpoint_ping", args=[endpoint.pk]), follow=True)
    assert response.status_code == 200
    assert "Ping queued as delivery" in response.content.decode()

    send_due()  # what a worker does with the queued ping

    assert len(receiver.wait_for(1)) == 1
    page = console.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])).content.decode()
    log = page.split('id="delivery-log"')[1]
    assert "webhook.ping" in log and "200" in log


def test_retry_and_replay_restart_failed_deliveries(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    make_learner(tenant, 1)
    make_learner(tenant, 2)
    Delivery.objects.update(state=DeliveryState.FAILED, next_attempt_at=None)
    first, second = Delivery.objects.order_by("id")
    console.post(reverse("admin:webhooks_endpoint_retry", args=[endpoint.pk, first.pk]))
    first.refresh_from_db()
    assert first.state == DeliveryState.PENDING
    since = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = console.post(reverse("admin:webhooks_endpoint_replay", args=[endpoint.pk]), {"since": since}, follow=True)
    assert "Replaying 1 failed delivery" in response.content.decode()
    second.refresh_from_db()
    assert second.state == DeliveryState.PENDING
    assert console.post(reverse("admin:webhooks_endpoint_replay", args=[endpoint.pk]), {"since": "yesterday"}).status_code == 302


def test_rotate_shows_the_new_secret_once_and_re_enable_clears_the_reason(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    response = console.post(reverse("admin:webhooks_endpoint_rotate", args=[endpoint.pk]), follow=True)
    endpoint.refresh_from_db()
    assert endpoint.secret in response.content.decode() and "not shown again" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert endpoint.secret not in console.get(_page(endpoint)).content.decode()
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, deactivate_reason="5 attempts failed")
    console.post(reverse("admin:webhooks_endpoint_enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.deactivate_reason == ""


def test_event_filter_is_chosen_from_the_catalog(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    page = console.get(_page(endpoint)).content.decode()
    assert 'value="learner.created"' in page and "A learner was registered in the tenant." in page
    assert 'name="events" value="webhook.ping"' not in page  # the log's filter may list pings; the subscription may not
    form = {"url": receiver.url, "events": ["learner.created", "need.resolved"], "enabled": "on", "payload_style": "full", "retry_policy": "standard", "additional_headers": "{}"}
    assert console.post(_page(endpoint), form).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["learner.created", "need.resolved"]
    refused = console.post(_page(endpoint), {**form, "events": ["no.such.event"]})
    assert refused.status_code == 200


def test_another_tenants_endpoint_and_deliveries_are_not_found(console, tenant, receiver, allow_private):
    theirs = make_endpoint(TenantFactory(), receiver.url)
    mine = make_endpoint(tenant, receiver.url)
    for name in ("ping", "rotate", "enable", "replay"):
        assert console.post(reverse(f"admin:webhooks_endpoint_{name}", args=[theirs.pk])).status_code == 404
    make_learner(theirs.tenant, 9)
    their_delivery = Delivery.objects.get(endpoint=theirs)
    assert console.post(reverse("admin:webhooks_endpoint_retry", args=[mine.pk, their_delivery.pk])).status_code == 404
    assert console.get(_page(theirs)).status_code == 404


def _log_queries(client, endpoint: Endpoint) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_page(endpoint)).status_code == 200
    return len(queries)


def test_delivery_log_query_count_is_the_same_for_5_and_500_deliveries(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)

    def add(count: int, start: int) -> None:
        event = Event.objects.create(tenant=tenant, type="learner.created", data={})
        rows = Delivery.objects.bulk_create(
            [Delivery(tenant=tenant, event=event, endpoint=endpoint, event_type="learner.created", sequence=start + i, state=DeliveryState.FAILED) for i in range(count)]
        )
        Attempt.objects.bulk_create(
            [Attempt(delivery=row, number=n, started_at=timezone.now(), status_code=500, response_body="oops " * 100) for row in rows for n in (1, 2)]
        )

    add(5, 0)
    _log_queries(console, endpoint)  # warm the per-process caches first
    few = _log_queries(console, endpoint)
    add(495, 5)
    many = _log_queries(console, endpoint)
    assert many == few, (few, many)
    page = console.get(_page(endpoint)).content.decode()
    assert len(re.findall(r'id="delivery-dlv_', page)) == 50
