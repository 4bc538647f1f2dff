"""The console's webhook pages and the API's delivery log cost the same with 100,000 past attempts as with 10."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.services import console_admin_create
from tests.webhooks.helpers import make_endpoint, make_learner, send_due
from tests.webhooks.history import seed_history
from webhooks.models import Attempt, Endpoint

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def console(client, tenant):  # noqa: ANN001, ANN201
    console_admin_create(tenant=tenant, username="ops", password="pw-console-12345")
    client.login(username="ops", password="pw-console-12345")
    return client


def _pages(endpoint: Endpoint, api_prefix: str) -> dict[str, str]:
    return {
        "endpoint list": reverse("admin:webhooks_endpoint_changelist"),
        "endpoint page": reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]),
        "delivery list": reverse("admin:webhooks_delivery_changelist"),
        "event list": reverse("admin:webhooks_event_changelist"),
        "api delivery log": f"{api_prefix}/webhooks/{endpoint.pk}/deliveries?limit=4",
    }


def _queries(client, url: str) -> tuple[int, str]:  # noqa: ANN001
    client.get(url)  # the first visit fills per-process caches (content types, the session)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries), "\n".join(q["sql"] for q in captured.captured_queries)


def test_each_page_makes_as_many_queries_with_100000_attempts_as_with_10(console, api, tenant, receiver, allow_private):
    busy = make_endpoint(tenant, receiver.url)
    make_endpoint(tenant, receiver.url)
    seed_history(busy, attempts=10, per_delivery=1)
    pages = _pages(busy, f"/api/v1/tenants/{tenant.slug}")
    clients = {name: (api if name.startswith("api") else console) for name in pages}
    small = {name: _queries(clients[name], url) for name, url in pages.items()}

    seed_history(busy, attempts=100_000 - 10, per_delivery=2)
    assert Attempt.objects.count() == 100_000

    for name, url in pages.items():
        count, sql = _queries(clients[name], url)
        assert count == small[name][0], f"{name}: {small[name][0]} queries with 10 attempts, {count} with 100,000\n{sql}"
        # No query reads the attempts of more than the page's own deliveries.
        assert "GROUP BY" not in sql.split("webhooks_attempt")[-1] or "webhooks_endpointhour" in sql, name
    pagination = api.get(pages["api delivery log"]).json()["pagination"]
    assert (pagination["total"], pagination["totalExact"], pagination["hasMore"]) == (10_000, False, True)


def test_health_columns_come_from_counters_kept_as_attempts_are_recorded(console, tenant, receiver, allow_private):
    from tests.webhooks.conftest import Reply

    endpoint = make_endpoint(tenant, receiver.url)
    seed_history(endpoint, attempts=20_000)  # history the counters never saw: it is not recounted
    receiver.reply(Reply(status=200), Reply(status=500), Reply(status=503))
    for n in range(3):
        make_learner(tenant, n)
        send_due()
    page = console.get(reverse("admin:webhooks_endpoint_changelist")).content.decode()
    assert "2 failures in a row" in page
    assert "33%" in page and "of 3" in page
    detail = console.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])).content.decode()
    chart = detail.split('id="endpoint-day-chart"')[1].split("</svg>")[0]
    assert "<svg" in chart and "1 delivered" in chart and "2 failed, retry scheduled" in chart


def test_the_console_delivery_log_pages_by_keyset_to_the_first_delivery(console, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    deliveries = seed_history(endpoint, attempts=240, per_delivery=2)  # 120 deliveries: three pages of 50
    url = reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])
    seen: list[str] = []
    page = console.get(url).content.decode()
    for _ in range(3):
        log = page.split('id="delivery-log"')[1]
        seen += [chunk.split('"')[0] for chunk in log.split('id="delivery-')[1:]]
        if "?before=" not in log:
            break
        older = log.split("?before=")[1].split("#")[0]
        page = console.get(f"{url}?before={older}").content.decode()
    assert seen == [d.pk for d in reversed(deliveries)]
    newer = page.split("?after=")[1].split("#")[0]
    back = console.get(f"{url}?after={newer}").content.decode().split('id="delivery-log"')[1]
    assert [chunk.split('"')[0] for chunk in back.split('id="delivery-')[1:]] == seen[50:100]
