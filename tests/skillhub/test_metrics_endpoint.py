"""/metrics: closed by default, open to a bearer token or an allowed address, labelled by route template."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from skillhub import metrics
from tests.factories import TenantFactory, make_api_key
from tests.skillhub.observing import samples, value
from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


def test_metrics_are_closed_when_neither_token_nor_allow_list_is_set(client, settings):
    settings.SKILLHUB_METRICS_TOKEN, settings.SKILLHUB_METRICS_ALLOW = "", []

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")

    assert response.status_code == 403
    assert b"skillhub_" not in response.content


def test_a_protected_scrape_needs_the_exact_bearer_token(client, settings):
    settings.SKILLHUB_METRICS_TOKEN, settings.SKILLHUB_METRICS_ALLOW = "s3cret-scrape-token", []

    anonymous = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-tokeX")
    prefix = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    basic = client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape-token")
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")

    assert [r.status_code for r in (anonymous, wrong, prefix, basic)] == [401, 401, 401, 401]
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert all(b"skillhub_" not in r.content for r in (anonymous, wrong, prefix, basic))
    assert right.status_code == 200 and b"skillhub_http_requests_total" in right.content


def test_an_address_in_the_allow_list_scrapes_without_a_token(client, settings):
    settings.SKILLHUB_METRICS_TOKEN, settings.SKILLHUB_METRICS_ALLOW = "", ["10.1.0.0/16", "192.0.2.7"]

    inside = client.get("/metrics", REMOTE_ADDR="10.1.200.3")
    single = client.get("/metrics", REMOTE_ADDR="192.0.2.7")
    outside = client.get("/metrics", REMOTE_ADDR="10.2.0.1")

    assert inside.status_code == 200 and single.status_code == 200
    assert outside.status_code == 401


def test_metrics_and_probes_are_not_in_the_public_api_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    assert not [path for path in paths if path.rstrip("/").endswith(("/metrics", "/healthz", "/readyz"))]


def test_requests_are_counted_by_route_template_never_by_raw_path(client, settings):
    settings.SKILLHUB_METRICS_TOKEN = "t"
    one, two = TenantFactory(slug="alpha-co"), TenantFactory(slug="beta-co")
    route = "/api/v1/tenants/<slug:slug>/learners"
    before = metrics.sample("skillhub_http_requests_total", {"route": route, "method": "GET", "status": "200"})

    for tenant in (one, two):
        assert client.get(f"/api/v1/tenants/{tenant.slug}/learners", HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}").status_code == 200
    client.get("/no/such/page/for-anyone-12345")
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()

    assert value(samples(text), "skillhub_http_requests_total", route=route, method="GET", status="200") == before + 2
    assert "alpha-co" not in text and "beta-co" not in text and "for-anyone-12345" not in text
    assert 'route="unmatched"' in text


def test_the_scrape_reads_backlog_circuits_and_disabled_endpoints_from_the_database(client, settings, tenant):
    # Given three endpoints: one with an open circuit, one disabled, one healthy; and two learners' deliveries each
    settings.SKILLHUB_METRICS_TOKEN = "t"
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    healthy = make_endpoint(tenant, "http://127.0.0.1:9/a")
    tripped = make_endpoint(tenant, "http://127.0.0.1:9/b")
    disabled = make_endpoint(tenant, "http://127.0.0.1:9/c")
    make_learner(tenant, 1)
    make_learner(tenant, 2)
    now = timezone.now()
    Endpoint.objects.filter(pk=tripped.pk).update(consecutive_failures=5, circuit_open_until=now + timedelta(minutes=5))
    Endpoint.objects.filter(pk=disabled.pk).update(enabled=False)
    Delivery.objects.filter(endpoint=healthy).update(next_attempt_at=now - timedelta(seconds=90))

    found = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode())

    assert value(found, "skillhub_webhook_deliveries_pending") == 6
    assert value(found, "skillhub_webhook_deliveries_deferred") == 2
    assert value(found, "skillhub_webhook_circuits_open") == 1
    assert value(found, "skillhub_webhook_endpoints_disabled") == 1
    assert value(found, "skillhub_webhook_endpoints") == 3
    assert 90 <= value(found, "skillhub_webhook_oldest_due_delivery_age_seconds") < 150
    assert value(found, "skillhub_metrics_database_up") == 1


def test_sweeps_report_their_last_run_duration_and_failures(client, settings, monkeypatch):
    import time

    from skillhub import scheduler

    def quick() -> int:
        time.sleep(0.02)
        return 1

    def broken() -> int:
        raise RuntimeError("sweep failed")

    settings.SKILLHUB_METRICS_TOKEN = "t"
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)  # the test's transaction stays open
    monkeypatch.setattr(scheduler, "SWEEPS", {
        "tests.quick": scheduler.Sweep(name="tests.quick", every_seconds=60, func=quick),
        "tests.broken": scheduler.Sweep(name="tests.broken", every_seconds=60, func=broken),
    })
    scheduler.run_due_sweeps()

    found = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode())
    assert value(found, "skillhub_sweep_last_run_timestamp_seconds", sweep="tests.quick") > timezone.now().timestamp() - 60
    assert 0.02 <= value(found, "skillhub_sweep_duration_seconds", sweep="tests.quick") < 5
    assert value(found, "skillhub_sweep_runs_total", sweep="tests.quick", outcome="ok") >= 1
    assert value(found, "skillhub_sweep_runs_total", sweep="tests.broken", outcome="error") >= 1


def test_a_scrape_asks_the_database_the_same_few_queries_however_long_the_history(client, settings, tenant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from webhooks.models import DeliveryState

    settings.SKILLHUB_METRICS_TOKEN = "t"
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    for n in range(3):
        make_endpoint(tenant, f"http://127.0.0.1:9/{n}")

    def scrape_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").status_code == 200
        return len(queries)

    make_learner(tenant, 1)
    few = scrape_queries()
    for n in range(2, 40):
        make_learner(tenant, n)
    Delivery.objects.filter(pk__in=Delivery.objects.values("pk")[:100]).update(state=DeliveryState.SUCCEEDED)
    many = scrape_queries()

    assert few == many <= 8
