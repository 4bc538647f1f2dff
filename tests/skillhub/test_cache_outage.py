"""A Redis cache that does not answer: the API keeps answering from the database, limits count in process memory.

The cache here points at a local port nothing listens on, so every Redis call fails at once, as
when the server is stopped; no Redis is needed to run these.
"""
from __future__ import annotations

import time

import pytest
import redis
from django.core.cache import caches
from django.utils import timezone

from skillhub import cache as skillhub_cache
from skillhub import localcache, scheduler
from skillhub.cache import RedisStore, SkillhubRedisCache
from tenants.models import ApiKey, Plan
from tenants.selectors import api_key_cache_key
from skillhub.crypto import token_hash
from tests.factories import make_api_key
from tests.skillhub.serving import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    """The default cache is a Redis on a port where nothing listens."""
    port = free_port(8450, 8469)
    settings.CACHES = {"default": {"BACKEND": "skillhub.cache.SkillhubRedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    localcache.clear()
    yield caches["default"]
    localcache.clear()


def test_an_api_key_is_verified_from_the_database_while_the_cache_is_down(api, redis_down):
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"

    responses = [api.get(url) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert int(responses[0]["X-RateLimit-Remaining"]) == 299
    assert int(responses[2]["X-RateLimit-Remaining"]) == 297  # counted, in this process


def test_unknown_keys_are_still_refused_while_the_cache_is_down(api, redis_down):
    api.credentials(HTTP_AUTHORIZATION="Bearer shk_not-a-key-at-all")

    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/learners")

    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHORIZED"


def test_plan_limits_still_refuse_while_the_cache_is_down(api, redis_down, monkeypatch):
    from tenants.api import ratelimit

    start = (int(time.time()) // 60) * 60 + 30
    monkeypatch.setattr(ratelimit.time, "time", lambda: start)
    api.tenant.plan = Plan.PILOT
    api.tenant.save()
    url = f"/api/v1/tenants/{api.tenant.slug}/learners"

    statuses = [api.get(url).status_code for _ in range(61)]

    assert statuses == [200] * 60 + [429]


def test_calls_skip_redis_for_a_moment_after_it_failed(redis_down, monkeypatch):
    redis_down.set("a", 1)  # fails, and is kept in process memory instead
    tried = []
    real_get = RedisStore.get

    def counting_get(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        tried.append(args)
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(RedisStore, "get", counting_get)

    assert [redis_down.get("a") for _ in range(50)] == [1] * 50
    assert tried == []  # no connection attempt per call while it is known to be down


def test_the_scheduler_runs_its_sweeps_when_the_lock_cannot_be_taken(monkeypatch):
    ran = []
    monkeypatch.setattr(scheduler, "SWEEPS", {})
    scheduler.sweep(every_seconds=5)(lambda: ran.append(1) or 1)

    def no_cache(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(scheduler.cache, "add", no_cache)

    scheduler.run_due_sweeps(now=1000.0)

    assert ran == [1]


def test_a_failing_sweep_backs_off_and_recovers(monkeypatch):
    monkeypatch.setattr(scheduler, "SWEEPS", {})
    outcomes: list[Exception | int] = [RuntimeError("database is down")] * 3 + [7, 8]
    ran_at: list[int] = []
    clock = [0]

    def flaky() -> int:
        ran_at.append(clock[0])
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    scheduler.sweep(every_seconds=5)(flaky)
    for second in range(0, 80):
        clock[0] = second
        scheduler.run_due_sweeps(now=10_000.0 + second)

    # Waits of 10, 20, 40 s after one, two and three failures; then every 5 s again.
    assert ran_at == [0, 10, 30, 70, 75]


@pytest.mark.redis
def test_a_key_revoked_while_redis_is_away_is_dropped_from_redis_when_it_returns(tenant, monkeypatch):
    shared = caches["default"]
    assert isinstance(shared, SkillhubRedisCache)
    raw = make_api_key(tenant)
    key_hash = token_hash(raw)
    api_key = ApiKey.objects.get(key_hash=key_hash)
    shared.set(api_key_cache_key(key_hash), api_key, 60)  # what the shared cache held before the outage
    real_delete = RedisStore.delete

    def unreachable(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(RedisStore, "delete", unreachable)
    from tenants.services import api_key_revoke

    api_key_revoke(api_key=api_key)  # does not fail, though Redis did not answer
    monkeypatch.setattr(RedisStore, "delete", real_delete)
    monkeypatch.setattr(skillhub_cache, "RETRY_SECONDS", 0.0)
    shared._down_until = time.monotonic() - 1  # the retry pause is over

    assert shared.get(api_key_cache_key(key_hash)) is None  # deleted from Redis once it answered
    localcache.clear()
    from tenants.selectors import api_key_find

    assert api_key_find(key_hash=key_hash) is None
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at <= timezone.now()
