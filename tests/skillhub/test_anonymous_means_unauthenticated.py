"""A request whose credential does not verify is anonymous: it counts against the address's /api/ limit,
and made-up keys are answered from the caches rather than a database query each."""
from __future__ import annotations

import secrets
import time
from types import SimpleNamespace

import django_ratelimit.core
import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants import services as tenant_services
from tenants.models import ApiKey
from tests.factories import TenantFactory, make_api_key

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.77"


@pytest.fixture(autouse=True)
def one_rate_window(monkeypatch):
    """Every request of a test falls in the same rate-limit window: a slow run that crossed a
    window's end would otherwise see the address's count start again mid-test."""
    frozen = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: frozen))


def _key_queries(captured: CaptureQueriesContext) -> int:
    return sum(1 for query in captured.captured_queries if "tenants_apikey" in query["sql"] or "tenants_stafftoken" in query["sql"])


def _get(client: Client, authorization: str | None, path: str = "/api/v1/tenants/acme/learners") -> int:
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    return client.get(path, REMOTE_ADDR=ADDRESS, **headers).status_code


@override_settings(ANONYMOUS_API_RATE="5/m")
@pytest.mark.parametrize(
    "authorization",
    [
        lambda: f"Bearer shk_{secrets.token_urlsafe(32)}",
        lambda: "Basic x",
        lambda: "",
        lambda: "Bearer",
        lambda: f"Bearer sht_{secrets.token_urlsafe(32)}",
        lambda: "Bearer shk_short",
    ],
    ids=["random-api-key", "basic", "empty", "bearer-alone", "random-staff-token", "malformed-key"],
)
def test_a_credential_that_does_not_verify_counts_against_the_address(authorization):
    client = Client()

    answers = [_get(client, authorization()) for _ in range(8)]

    assert answers == [401] * 5 + [429] * 3


@override_settings(ANONYMOUS_API_RATE="5/m")
def test_revoked_and_expired_keys_count_too():
    tenant = TenantFactory()
    revoked, expired = make_api_key(tenant), make_api_key(tenant)
    ApiKey.objects.filter(prefix=revoked[:12]).update(revoked_at=timezone.now())
    ApiKey.objects.filter(prefix=expired[:12]).update(expires_at=timezone.now())
    client = Client()

    answers = [_get(client, f"Bearer {raw}", f"/api/v1/tenants/{tenant.slug}/learners") for raw in [revoked, expired] * 4]

    assert answers == [401] * 5 + [429] * 3


@override_settings(ANONYMOUS_API_RATE="5/m")
def test_a_valid_key_never_counts():
    tenant = TenantFactory(plan="enterprise", rate_limit_per_minute=1000)
    raw = make_api_key(tenant)
    client = Client()

    answers = [_get(client, f"Bearer {raw}", f"/api/v1/tenants/{tenant.slug}/learners") for _ in range(20)]

    assert answers == [200] * 20


def test_the_same_unknown_key_costs_one_query_not_one_each():
    client = Client()
    made_up = f"Bearer shk_{secrets.token_urlsafe(32)}"

    with CaptureQueriesContext(connection) as captured:
        answers = [_get(client, made_up) for _ in range(200)]

    assert answers == [401] * 200
    assert _key_queries(captured) == 1


@override_settings(ANONYMOUS_API_RATE="20/m", ANONYMOUS_API_LOOKUPS="5/m")
def test_a_flood_of_random_keys_stops_costing_queries_once_the_address_is_over_its_limit():
    client = Client()

    with CaptureQueriesContext(connection) as captured:
        answers = [_get(client, f"Bearer shk_{secrets.token_urlsafe(32)}") for _ in range(300)]

    assert answers == [401] * 20 + [429] * 280
    assert _key_queries(captured) <= 20 + 5


def test_a_key_created_after_its_hash_was_refused_works_at_once(monkeypatch):
    tenant = TenantFactory()
    fixed = secrets.token_urlsafe(32)
    client = Client()
    path = f"/api/v1/tenants/{tenant.slug}/learners"
    assert _get(client, f"Bearer shk_{fixed}", path) == 401  # the miss is cached

    monkeypatch.setattr(tenant_services.secrets, "token_urlsafe", lambda n: fixed)
    issued = tenant_services.api_key_create(tenant=tenant, name="late", role="admin", scopes=["learners:read"])

    assert issued.raw_key == f"shk_{fixed}"
    assert _get(client, f"Bearer {issued.raw_key}", path) == 200
