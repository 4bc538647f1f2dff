"""Anonymous API flood limits, counted by django-ratelimit in the shared cache; the client address both throttles key on."""
from __future__ import annotations

import ipaddress
from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage  # type: ignore[import-untyped]

from skillhub.api.errors import error_response

API_GROUP = "anonymous-api"


def _client_address(group: str, request: HttpRequest) -> str:
    # django-ratelimit's own "ip" key refuses a request without REMOTE_ADDR (a unix socket, some WSGI
    # harnesses) with an error; such requests share one counter instead of failing.
    address = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        # One IPv6 client holds a whole /64: count it as one address.
        return str(ipaddress.ip_network(f"{address}/{64 if ':' in address else 32}", strict=False).network_address)
    except ValueError:
        return address[:64] or "unknown"


class AnonymousApiThrottleMiddleware:
    """Refuse requests to /api/ that carry no credential once one address sends too many (429)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/") or "HTTP_AUTHORIZATION" in request.META:
            return self.get_response(request)
        usage = get_usage(request, group=API_GROUP, key=_client_address, rate=settings.ANONYMOUS_API_RATE, increment=True)
        if usage is not None and usage["should_limit"]:
            wait = max(int(usage["time_left"]), 1)
            response = error_response(429, "RATE_LIMITED", f"Too many requests without an API key; retry in {wait} s")
            response["Retry-After"] = str(wait)
            return response
        return self.get_response(request)
