"""Plan rate limits per tenant, per minute and per day, counted in the shared cache."""
from __future__ import annotations

import time
from dataclasses import dataclass

from django.http import HttpRequest
from django_ratelimit.core import get_usage

from tenants.models import Tenant


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


def _tenant_key(tenant: Tenant):  # noqa: ANN202
    return lambda group, request: str(tenant.id)


def consume(*, request: HttpRequest, tenant: Tenant) -> RateLimitUsage:
    """Count one request against the tenant's minute and day windows and report the tighter one."""
    per_minute, per_day = tenant.rate_limits
    now = int(time.time())
    windows = []
    for group, rate in (("api-minute", f"{per_minute}/m"), ("api-day", f"{per_day}/d")):
        usage = get_usage(request, group=group, key=_tenant_key(tenant), rate=rate, increment=True)
        if usage is None:  # rate limiting switched off in settings
            continue
        limit = usage["limit"]
        windows.append((limit, max(0, limit - usage["count"]), now + max(usage["time_left"], 0), usage["should_limit"]))
    if not windows:
        return RateLimitUsage(limit=per_minute, remaining=per_minute, reset=now + 60, retry_after=None)
    minute = windows[0]
    blocked = [w for w in windows if w[3]]
    if blocked:
        # A request refused by the day window must wait for the day, not the minute.
        worst = max(blocked, key=lambda w: w[2])
        return RateLimitUsage(limit=worst[0], remaining=0, reset=worst[2], retry_after=max(1, worst[2] - now))
    remaining = min(w[1] for w in windows)
    return RateLimitUsage(limit=minute[0], remaining=remaining, reset=minute[2], retry_after=None)
