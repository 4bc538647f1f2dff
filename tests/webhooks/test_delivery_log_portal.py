"""The delivery log as integrators know it from the Svix and Stripe portals.

Filters (status, event type, date, event id), attempts numbered in order across retries, each
attempt's request as sent (secrets masked) and response, a test event of a chosen type, a replay
that says what it leaves out, the endpoint's public id in its URL, and the add form's fields.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tenants.services import api_key_create, console_admin_create
from tests.webhooks.conftest import Reply
from tests.webhooks.helpers import make_endpoint, make_learner, send_due
from webhooks import services
from webhooks.models import Delivery, DeliveryState, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, tenant):  # noqa: ANN001, ANN201
    console_admin_create(tenant=tenant, username="ops", password="pw-console-12345")
    client.login(username="ops", password="pw-console-12345")
    return client


def _page(endpoint: Endpoint) -> str:
    return reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])


def _messages(response) -> list[str]:  # noqa: ANN001
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_attempts_are_numbered_in_order_across_a_retry_and_the_api_counts_them_all(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    receiver.reply(Reply(status=503, body=b"busy"), Reply(status=200, body=b"ok"))
    make_learner(tenant)
    send_due()
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempt_count == 1
    services.delivery_retry(delivery=delivery)  # a new cycle: the schedule counts from 1 again, people do not
    send_due()
    page = console.get(_page(endpoint)).content.decode()
    assert "#attempt-1\">#1</a>" in page and "#attempt-2\">#2</a>" in page
    raw = api_key_create(tenant=tenant, name="k", role="admin", scopes=["webhooks:read"]).raw_key
    from django.test import Client

    answer = Client().get(f"/api/v1/tenants/{tenant.slug}/webhooks/deliveries/{delivery.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert "attemptCount" in answer, answer
    assert answer["attemptCount"] == 2 and [a["number"] for a in answer["attempts"]] == [1, 2]
    assert "UTC" in page  # times carry their zone


def test_filter_by_status_event_type_date_and_search_by_event_id(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    receiver.reply(Reply(status=200), Reply(status=500), Reply(status=200))
    for n in range(3):
        make_learner(tenant, n)
        send_due()
    services.endpoint_ping(endpoint=endpoint)
    failed = Delivery.objects.get(state=DeliveryState.PENDING, attempt_count=1)

    def shown(**query: str) -> set[str]:
        response = console.get(_page(endpoint), query)
        assert response.status_code == 200
        return {row.pk for row in response.context["deliveries"]}

    everything = set(Delivery.objects.values_list("pk", flat=True))
    assert shown() == everything and len(everything) == 4
    assert shown(status="retrying") == {failed.pk}
    Delivery.objects.filter(pk=failed.pk).update(state=DeliveryState.FAILED, next_attempt_at=None)
    assert shown(status="failed") == {failed.pk} and shown(status="retrying") == set()
    assert shown(status="succeeded") == set(Delivery.objects.filter(state="succeeded").values_list("pk", flat=True))
    assert shown(event_type="learner.created") == set(Delivery.objects.filter(event_type="learner.created").values_list("pk", flat=True))
    assert shown(q=failed.event_id) == {failed.pk}
    assert shown(q=failed.pk) == {failed.pk}
    assert shown(q="no-such-id") == set()
    today = timezone.localdate()
    assert shown(since=str(today), until=str(today)) == everything
    assert shown(until=str(today - timedelta(days=1))) == set()
    assert shown(since="not-a-date") == set()  # a bad filter shows nothing rather than everything


def test_an_attempts_request_is_shown_as_sent_with_secrets_masked_and_its_response(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url, send_secret_header=True, additional_headers={"X-Api-Token": "tok-very-secret"})
    receiver.reply(Reply(status=422, body=b"{\"error\": \"missing field\"}", headers={"X-Request-Trace": "trace-4711"}))
    make_learner(tenant)
    send_due()
    delivery = Delivery.objects.get()
    response = console.get(reverse("admin:webhooks_endpoint_delivery", args=[endpoint.pk, delivery.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    sent = receiver.wait_for(1)[0]
    assert json.loads(page.split('id="request-body">')[1].split("</pre>")[0].replace("&quot;", '"')) == json.loads(sent.body)
    assert "webhook-signature" in page and "v1,********" in page and "X-Api-Token" in page
    for secret in (endpoint.secret, "tok-very-secret"):
        assert secret not in page
    assert "HTTP 422" in page and "missing field" in page and "Attempt #1" in page
    headers = page.split('class="console-table headers response-headers">')[1].split("</table>")[0]
    assert "x-request-trace" in headers and "trace-4711" in headers, "the receiver's answer headers are shown"


def test_send_a_test_event_of_a_chosen_type_reaches_the_receiver(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    response = console.post(reverse("admin:webhooks_endpoint_send_test", args=[endpoint.pk]), {"event_type": "need.offered"})
    assert response.status_code == 302
    delivery = Delivery.objects.get()
    assert delivery.event_type == "need.offered" and delivery.endpoint_id == endpoint.pk
    send_due()
    received = receiver.wait_for(1)[0]
    body = json.loads(received.body)
    assert body["type"] == "need.offered" and body["data"]["tenantId"] == str(tenant.pk)
    refused = console.post(reverse("admin:webhooks_endpoint_send_test", args=[endpoint.pk]), {"event_type": "webhook.ping"}, follow=True)
    assert Delivery.objects.count() == 1 and "choose an event type" in " ".join(_messages(refused))


def test_replay_says_what_it_leaves_out_and_can_send_the_waiting_ones(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    receiver.reply(*[Reply(status=503)] * 3)
    for n in range(3):
        make_learner(tenant, n)
    send_due()
    assert Delivery.objects.filter(state=DeliveryState.PENDING, attempt_count=1).count() == 3
    since = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    answer = console.post(reverse("admin:webhooks_endpoint_replay", args=[endpoint.pk]), {"since": since}, follow=True)
    text = " ".join(_messages(answer))
    assert "Replaying 0 failed deliveries" in text and "Not included: 3 deliveries that failed and are waiting for an automatic retry" in text
    answer = console.post(reverse("admin:webhooks_endpoint_replay", args=[endpoint.pk]), {"since": since, "include_waiting": "1"}, follow=True)
    assert "sending 3 that were waiting for a retry now" in " ".join(_messages(answer))
    assert Delivery.objects.filter(state=DeliveryState.PENDING, attempt_count=0).count() == 3


def test_the_endpoint_page_is_addressed_by_its_public_id(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    listing = console.get(reverse("admin:webhooks_endpoint_changelist")).content.decode()
    assert f'href="/admin/webhooks/endpoint/{endpoint.pk}/change/"' in listing
    assert console.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").status_code == 200
    assert console.get(f"/admin/webhooks/endpoint/{endpoint.pk}/history/").status_code == 200
    assert 'column-endpoint_url' in listing and '">URL</a>' in listing and endpoint.url in listing


def test_the_add_form_asks_only_what_a_person_chooses(console, tenant, receiver, allow_private):
    page = console.get(reverse("admin:webhooks_endpoint_add")).content.decode()
    assert 'name="tenant"' not in page and "Sequence" not in page and "Circuit open until" not in page
    assert "Leave blank to keep the stored password" not in page and "`" not in page
    assert '<label class="required" for="id_url">URL:</label>' in page
    form = {"url": receiver.url, "enabled": "on", "payload_style": "full", "retry_policy": "standard", "additional_headers": "{}", "max_in_flight": "1"}
    assert console.post(reverse("admin:webhooks_endpoint_add"), form).status_code == 302
    assert Endpoint.objects.get().tenant == tenant


def _log_queries(client, endpoint: Endpoint) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_page(endpoint)).status_code == 200
    return len(queries)


def test_the_endpoint_page_costs_the_same_queries_for_5_and_50_deliveries(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    for n in range(5):
        make_learner(tenant, n)
    send_due()
    _log_queries(console, endpoint)
    few = _log_queries(console, endpoint)
    for n in range(5, 50):
        make_learner(tenant, n)
    send_due()
    assert _log_queries(console, endpoint) == few
