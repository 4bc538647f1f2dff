"""Plan rate limits per tenant with X-RateLimit-* headers and 429 + Retry-After."""
from __future__ import annotations

import time

import pytest

from tenants.models import Plan
from tests.factories import TenantFactory, make_api_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def mid_minute(monkeypatch):
    """Hold the clock mid-minute, so a burst of requests cannot straddle a window boundary."""
    from tenants.api import ratelimit

    start = (int(time.time()) // 60) * 60 + 30
    monkeypatch.setattr(ratelimit.time, "time", lambda: start)
    return start


def test_every_response_carries_rate_limit_headers(api):
    first = api.get(f"/api/v1/tenants/{api.tenant.slug}/learners")
    second = api.get(f"/api/v1/tenants/{api.tenant.slug}/learners/not-there")
    assert first["X-RateLimit-Limit"] == "300"  # standard plan
    assert int(first["X-RateLimit-Remaining"]) == 299
    assert int(second["X-RateLimit-Remaining"]) == 298
    assert second.status_code == 404
    reset = int(first["X-RateLimit-Reset"])
    assert time.time() <= reset <= time.time() + 61


def test_pilot_plan_is_refused_after_60_requests_a_minute(api, mid_minute):
    api.tenant.plan = Plan.PILOT
    api.tenant.save()
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"
    statuses = [api.get(url).status_code for _ in range(60)]
    assert statuses == [200] * 60
    refused = api.get(url)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert refused["X-RateLimit-Remaining"] == "0"


def test_limits_are_counted_per_tenant(api, mid_minute):
    api.tenant.plan = Plan.PILOT
    api.tenant.save()
    for _ in range(61):
        api.get(f"/api/v1/tenants/{api.tenant.slug}/learners")
    other = TenantFactory(plan=Plan.PILOT)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other)}")
    assert api.get(f"/api/v1/tenants/{other.slug}/learners").status_code == 200


def test_enterprise_tenant_uses_its_own_limits(api, mid_minute):
    api.tenant.plan = Plan.ENTERPRISE
    api.tenant.rate_limit_per_minute = 3
    api.tenant.rate_limit_per_day = 50
    api.tenant.save()
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"
    responses = [api.get(url) for _ in range(4)]
    assert responses[0]["X-RateLimit-Limit"] == "3"
    assert [r.status_code for r in responses] == [200, 200, 200, 429]


def test_day_limit_refuses_with_a_long_retry_after(api):
    api.tenant.plan = Plan.ENTERPRISE
    api.tenant.rate_limit_per_minute = 100
    api.tenant.rate_limit_per_day = 2
    api.tenant.save()
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"
    responses = [api.get(url) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    # The refusal reports the day window, and Retry-After points at that window's reset.
    assert responses[2]["X-RateLimit-Limit"] == "2"
    wait_until_reset = int(responses[2]["X-RateLimit-Reset"]) - time.time()
    assert abs(int(responses[2]["Retry-After"]) - max(1, wait_until_reset)) <= 2
