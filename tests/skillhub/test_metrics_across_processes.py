"""/metrics adds up what every process counted: two real processes share one multiprocess directory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from skillhub.db import is_postgres
from tests.factories import TenantFactory
from tests.signals_inbox.factories import issue_secret, signal_body
from tests.skillhub.observing import StatusReceiver, samples, value
from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks.models import Delivery, DeliveryState

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_ROUTE = "/api/v1/integration/<str:slug>/webhook"


def _database_url() -> str:
    if is_postgres():
        from tests.webhooks.processes import database_url_of_tests

        return database_url_of_tests()
    return f"sqlite:///{connection.settings_dict['NAME']}"


def _run_child(plan: dict, metrics_dir: Path) -> str:
    env = {key: value for key, value in os.environ.items() if key != "DRAMATIQ_BROKER_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="skillhub.settings",
        DATABASE_URL=_database_url(),
        SECRET_KEY=env.get("SECRET_KEY") or "metrics-test",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        WEBHOOKS_ALLOW_PRIVATE_TARGETS="1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.skillhub.metrics_child", json.dumps(plan)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_counters_of_two_processes_add_up_to_the_known_sequence(transactional_db, client, settings, tmp_path):
    # Given a tenant with a signal secret, four deliveries to a receiver that answers 200 and one to a receiver that answers 500
    tenant = TenantFactory()
    secret = issue_secret(tenant)
    good, bad = StatusReceiver(200), StatusReceiver(500)
    try:
        settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
        make_endpoint(tenant, good.url, events=["learner.created"])
        make_endpoint(tenant, bad.url, events=["learner.updated"])
        learners = [make_learner(tenant, n) for n in range(1, 5)]
        from learning.services import learner_update

        learner_update(learner=learners[0], values={"first_name": "Renamed"})
        to_good = list(Delivery.objects.filter(event_type="learner.created").order_by("sequence").values_list("id", flat=True))
        to_bad = list(Delivery.objects.filter(event_type="learner.updated").values_list("id", flat=True))
        assert len(to_good) == 4 and len(to_bad) == 1

        first = signal_body(email="a@example.com", topic="Working at Heights")
        second = signal_body(email="b@example.com", topic="First Aid")
        metrics_dir = tmp_path / "metrics"
        metrics_dir.mkdir()

        # When one process receives a signal and its duplicate and sends two deliveries,
        _run_child(
            {"slug": tenant.slug, "signals": [{"body": first.decode(), "secret": secret}, {"body": first.decode(), "secret": secret}],
             "deliveries": to_good[:2]},
            metrics_dir,
        )
        # and another receives a new signal and a forged one and sends the other three (one of them failing)
        _run_child(
            {"slug": tenant.slug, "signals": [{"body": second.decode(), "secret": secret}, {"body": second.decode(), "signature": "0" * 64}],
             "deliveries": to_good[2:] + to_bad},
            metrics_dir,
        )
        assert len(good.requests) == 4 and len(bad.requests) == 1

        # Then a scrape of this process (which counted none of it) reports both processes' counts together
        settings.PROMETHEUS_MULTIPROC_DIR = str(metrics_dir)
        settings.SKILLHUB_METRICS_TOKEN = "scrape-token"
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token")
    finally:
        good.close()
        bad.close()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.content.decode())
    assert len({path.name.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}) == 2  # two processes' files
    assert value(found, "skillhub_signals_received_total", outcome="new", reason="") == 2
    assert value(found, "skillhub_signals_received_total", outcome="deduplicated", reason="") == 1
    assert value(found, "skillhub_signals_received_total", outcome="rejected", reason="bad_signature") == 1
    assert value(found, "skillhub_webhook_deliveries_total", outcome="delivered") == 4
    assert value(found, "skillhub_webhook_deliveries_total", outcome="retry_scheduled") == 1
    assert value(found, "skillhub_webhook_deliveries_total", outcome="failed") == 0
    assert value(found, "skillhub_webhook_attempt_duration_seconds_count") == 5
    assert value(found, "skillhub_http_requests_total", route=WEBHOOK_ROUTE, method="POST", status="200") == 3
    assert value(found, "skillhub_http_requests_total", route=WEBHOOK_ROUTE, method="POST", status="401") == 1
    assert value(found, "skillhub_http_request_duration_seconds_count", route=WEBHOOK_ROUTE, method="POST") == 4
    # and the scrape-time gauges see the one delivery waiting for its retry
    assert value(found, "skillhub_webhook_deliveries_pending") == 1
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 1
    assert value(found, "skillhub_webhook_endpoints") == 2
    assert value(found, "skillhub_metrics_database_up") == 1
