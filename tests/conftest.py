"""Shared test set-up: a clean cache, API clients with keys, service markers."""
from __future__ import annotations

import os
import shutil

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from skillhub.db import is_postgres
from tests.factories import TenantFactory, make_api_key


def chromium_path() -> str | None:
    """Debian's chromium, found on PATH (Playwright never downloads a browser here)."""
    return shutil.which("chromium")


def _postgres_bin() -> str | None:
    # PATH only, so a machine (or a test) without it on PATH skips; Debian keeps it in
    # /usr/lib/postgresql/<version>/bin, which .ci/run puts on PATH.
    return shutil.which("pg_ctl")


# marker: (what finds the program, the variable that makes it required, how to get it)
SYSTEM_PROGRAMS = {
    "browser": (chromium_path, "SKILLHUB_REQUIRE_BROWSER", "Debian's chromium on PATH (apt-get install -y chromium)"),
    "nginx": (lambda: shutil.which("nginx"), "SKILLHUB_REQUIRE_NGINX", "nginx on PATH (apt-get install -y nginx-light)"),
    "redis_server": (lambda: shutil.which("redis-server"), "SKILLHUB_REQUIRE_REDIS_SERVER", "redis-server on PATH (apt-get install -y redis-server)"),
    "rabbitmq": (lambda: shutil.which("rabbitmqctl"), "SKILLHUB_REQUIRE_RABBITMQCTL", "a running RabbitMQ and rabbitmqctl on PATH"),
    "pg_ctl": (_postgres_bin, "SKILLHUB_REQUIRE_PG_CTL", "PostgreSQL's initdb and pg_ctl (apt-get install -y postgresql)"),
}


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL and DRAMATIQ_BROKER_URL=redis://…")
    # A test that needs a system program is skipped where it is missing, so `make test` needs only
    # Python; CI sets SKILLHUB_REQUIRE_<PROGRAM> so that it never skips one silently.
    for marker, (find, required, how) in SYSTEM_PROGRAMS.items():
        needing = [item for item in items if marker in item.keywords]
        if not needing or find():
            continue
        if os.environ.get(required):
            raise pytest.UsageError(f"{required} is set but this needs {how}, which is missing")
        skip = pytest.mark.skip(reason=f"needs {how}; {required}=1 makes its absence fail the run")
        for item in needing:
            item.add_marker(skip)
    for item in items:
        if "postgres" in item.keywords and not is_postgres():
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _clean_cache():
    """The caches empty: the shared one, the per-process memo (API keys, signal secrets, ingest contexts)
    and the webhook targets' checked addresses."""
    from skillhub import localcache
    from webhooks.engine import transport

    cache.clear()
    localcache.clear()
    transport.checked_targets.clear()
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
