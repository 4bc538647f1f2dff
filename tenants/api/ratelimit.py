"""Plan rate limits per tenant, per minute and per day, counted in the shared cache.

Fixed windows aligned to the clock. On Redis both counters are bumped in one pipelined round
trip (INCR + EXPIRE NX each); the generic cache API would need three round trips per window.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import caches

from skillhub.cache import UNREACHABLE, SkillhubRedisCache
from tenants.models import Tenant

MINUTE = 60
DAY = 86_400


@dataclass(frozen=True)
class RateLimitUsage:
    limit: int
    remaining: int
    reset: int
    retry_after: int | None

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def _increment(keys: list[tuple[str, int]]) -> list[int]:
    """Add one to each counter (creating it with its TTL) and return the new values."""
    cache = caches["default"]
    if isinstance(cache, SkillhubRedisCache):
        if cache.reachable():
            pipe = cache.client.pipeline(transaction=False)
            for key, ttl in keys:
                made = cache.make_and_validate_key(key)
                pipe.incr(made)
                pipe.expire(made, ttl, nx=True)
            try:
                return [int(value) for value in pipe.execute()[0::2]]
            except UNREACHABLE as exc:
                cache.note_unreachable(exc)
        # Redis is away: each process counts on its own until it answers (limits per process, not none).
        cache = cache.fallback
    counts = []
    for key, ttl in keys:
        if cache.add(key, 1, ttl):
            counts.append(1)
            continue
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.add(key, 1, ttl)
            counts.append(1)
    return counts


def consume(*, tenant: Tenant, now: float | None = None) -> RateLimitUsage:
    """Count one request against the tenant's minute and day windows and report the tighter one."""
    per_minute, per_day = tenant.rate_limits
    now_s = int(time.time() if now is None else now)
    minute_start, day_start = now_s - now_s % MINUTE, now_s - now_s % DAY
    minute_count, day_count = _increment(
        [(f"rl:{tenant.pk}:m:{minute_start}", MINUTE + 5), (f"rl:{tenant.pk}:d:{day_start}", DAY + 5)]
    )
    minute_reset, day_reset = minute_start + MINUTE, day_start + DAY
    if day_count > per_day:
        # A request refused by the day window must wait for the day, not the minute.
        return RateLimitUsage(limit=per_day, remaining=0, reset=day_reset, retry_after=max(1, day_reset - now_s))
    if minute_count > per_minute:
        return RateLimitUsage(limit=per_minute, remaining=0, reset=minute_reset, retry_after=max(1, minute_reset - now_s))
    remaining = min(per_minute - minute_count, per_day - day_count)
    return RateLimitUsage(limit=per_minute, remaining=remaining, reset=minute_reset, retry_after=None)
