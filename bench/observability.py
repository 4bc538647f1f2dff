"""What observing costs: a /metrics scrape with 1,000 endpoints, and the request middleware per API page.

PostgreSQL + Redis (BENCH_PG_URL, BENCH_REDIS_URL), in one process through Django's WSGI handler
(no network: the numbers are the application's own time). Seeds 1,000 endpoints, 200,000 finished
deliveries (history the scrape must not read), 2,000 pending ones and 1,000 learners, then:

- scrapes /metrics 50 times (prometheus_client's multiprocess mode, as under `serve`);
- reads the API's first page of learners, alternating request by request, with and without the request
  observation and operations middlewares (same run, same process), LOG_FORMAT=json to /dev/null.

Run: `.venv/bin/python bench/observability.py [--reuse]` (or `make bench-observability`).
"""
from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import PG_URL, recreate_database  # noqa: E402

DATABASE = "bench_observe"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
ENDPOINTS, HISTORY, PENDING, LEARNERS = 1000, 200_000, 2000, 1000
OBSERVING = ("skillhub.requestlog.RequestObservationMiddleware", "skillhub.operations.OperationsMiddleware")


def setup_environment() -> None:
    os.environ.update(
        DATABASE_URL=f"{PG_URL}/{DATABASE}",
        REDIS_URL=REDIS_URL,
        SECRET_KEY="bench-secret-key",
        DJANGO_SETTINGS_MODULE="skillhub.settings",
        LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="skillhub-bench-metrics-"),
        SKILLHUB_METRICS_TOKEN="bench-token",
        ALLOWED_HOSTS="testserver",
    )
    os.environ.pop("DRAMATIQ_BROKER_URL", None)


def seed() -> tuple[str, str]:
    from datetime import timedelta

    from django.utils import timezone

    from learning.models import Learner
    from tenants.services import api_key_create, tenant_create
    from webhooks.models import Delivery, DeliveryState, Endpoint, Event

    tenant, _ = tenant_create(slug="bench", name="Bench")
    key = api_key_create(tenant=tenant, name="bench", role="admin", scopes=["learners:read"]).raw_key
    Learner.objects.bulk_create(
        [Learner(tenant=tenant, first_name=f"F{n}", last_name="Bench", email=f"l{n}@bench.example") for n in range(LEARNERS)],
        batch_size=1000,
    )
    endpoints = Endpoint.objects.bulk_create(
        [Endpoint(tenant=tenant, url=f"https://hooks{n}.example.com/in", secret=f"whsec_{n:040d}") for n in range(ENDPOINTS)],
        batch_size=1000,
    )
    event = Event.objects.create(tenant=tenant, type="learner.created", data={})
    now = timezone.now()
    rows = []
    for n in range(HISTORY + PENDING):
        pending = n >= HISTORY
        rows.append(
            Delivery(
                tenant=tenant, event=event, endpoint=endpoints[n % ENDPOINTS], event_type="learner.created", sequence=n,
                state=DeliveryState.PENDING if pending else DeliveryState.SUCCEEDED,
                next_attempt_at=now - timedelta(seconds=n % 60) if pending else None,
                delivered_at=None if pending else now,
            )
        )
        if len(rows) == 10_000:
            Delivery.objects.bulk_create(rows)
            rows = []
    Delivery.objects.bulk_create(rows)
    Endpoint.objects.filter(pk__in=[e.pk for e in endpoints[:10]]).update(enabled=False)
    return tenant.slug, key


def timed(call, count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    setup_environment()
    reuse = "--reuse" in sys.argv  # the data seeded by a previous run
    if not reuse:
        recreate_database(DATABASE)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=os.environ, check=True)
    import django

    django.setup()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115  # formatting is measured, the terminal is not
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    if reuse:
        from tenants.services import api_key_create
        from tenants.models import Tenant

        slug = "bench"
        key = api_key_create(tenant=Tenant.objects.get(slug=slug), name="bench", role="admin", scopes=["learners:read"]).raw_key
    else:
        print(f"seeding {ENDPOINTS:,} endpoints, {HISTORY:,} finished and {PENDING:,} pending deliveries, {LEARNERS:,} learners …", file=sys.stderr)
        slug, key = seed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    scraper = Client()
    auth = {"HTTP_AUTHORIZATION": "Bearer bench-token"}
    assert scraper.get("/metrics", **auth).status_code == 200
    scrapes = timed(lambda: scraper.get("/metrics", **auth), 50)
    body = scraper.get("/metrics", **auth).content.decode()
    queries = next(float(line.split()[-1]) for line in body.splitlines() if line.startswith("skillhub_metrics_queries_seconds "))

    page = f"/api/v1/tenants/{slug}/learners?limit=50"
    observed = Client()
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m not in OBSERVING]):
        bare = Client()
        assert bare.get(page, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert observed.get(page, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    with_mw: list[float] = []
    without_mw: list[float] = []
    for _ in range(2000):  # alternating requests: drift on a shared machine hits both sides alike
        with_mw += timed(lambda: observed.get(page, HTTP_AUTHORIZATION=f"Bearer {key}"), 1)
        without_mw += timed(lambda: bare.get(page, HTTP_AUTHORIZATION=f"Bearer {key}"), 1)

    # The middlewares' own cost, isolated: around a view that does nothing, best of 5 rounds of 5,000.
    from django.http import HttpResponse
    from django.test import RequestFactory

    from skillhub.operations import OperationsMiddleware
    from skillhub.requestlog import RequestObservationMiddleware

    request = RequestFactory().get(page)
    nothing = OperationsMiddleware(lambda r: HttpResponse(b"{}"))
    wrapped = RequestObservationMiddleware(nothing)
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(5000):
            wrapped(request)
        middle = time.perf_counter()
        for _ in range(5000):
            nothing(request)
        rounds.append(((middle - started) - (time.perf_counter() - middle)) / 5000 * 1e6)

    def p(values: list[float], q: float) -> float:
        return sorted(values)[int(q * (len(values) - 1))]

    print(f"/metrics scrape, {ENDPOINTS:,} endpoints, {HISTORY + PENDING:,} deliveries: "
          f"median {statistics.median(scrapes):.1f} ms, p95 {p(scrapes, 0.95):.1f} ms (database gauges {queries * 1000:.1f} ms), "
          f"{len(body):,} bytes")
    med_with, med_without = statistics.median(with_mw), statistics.median(without_mw)
    print(f"API first page (50 learners), {len(with_mw):,} requests each: with observation median {med_with:.2f} ms "
          f"(p95 {p(with_mw, 0.95):.2f}), without {med_without:.2f} ms (p95 {p(without_mw, 0.95):.2f}); "
          f"overhead {med_with - med_without:+.2f} ms per request ({(med_with / med_without - 1) * 100:+.1f}%)")
    print(f"request observation alone (id, context, metrics, one JSON log line), around a view doing nothing: {min(rounds):.0f} µs per request")


if __name__ == "__main__":
    main()
