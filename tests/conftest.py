"""Shared test set-up: a clean cache, API clients with keys, service markers."""
from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from skillhub.db import is_postgres
from tests.factories import TenantFactory, make_api_key


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL and DRAMATIQ_BROKER_URL=redis://…")
    skip_browser = pytest.mark.skip(reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run installs it)")
    has_chromium = os.path.exists("/usr/bin/chromium")
    # A developer's machine may lack the browser; CI must not skip the console checks silently.
    if os.environ.get("SKILLHUB_REQUIRE_BROWSER") and not has_chromium:
        raise pytest.UsageError("SKILLHUB_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
    for item in items:
        if "browser" in item.keywords and not has_chromium:
            item.add_marker(skip_browser)
        if "postgres" in item.keywords and not is_postgres():
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Both caches empty: the shared one and the per-process memo (API keys, signal secrets, ingest contexts)."""
    from skillhub import localcache

    cache.clear()
    localcache.clear()
    yield


@pytest.fixture
def tenant(db):
    return TenantFactory()


@pytest.fixture
def api(tenant):
    """An API client authenticated with an all-scopes admin key of `tenant`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}")
    client.tenant = tenant
    return client


@pytest.fixture
def stub_broker():
    """The test broker, emptied before and after the test."""
    import dramatiq

    broker = dramatiq.get_broker()
    broker.flush_all()
    yield broker
    broker.flush_all()


@pytest.fixture
def stub_worker(stub_broker):
    """A worker on the stub broker; `stub_broker.join(queue)` then runs what was sent."""
    import dramatiq

    from skillhub.tasks import import_actors

    import_actors()
    worker = dramatiq.Worker(stub_broker, worker_timeout=100, worker_threads=2)
    worker.start()
    yield worker
    worker.stop()
