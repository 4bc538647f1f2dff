"""Login throttling, counted by django-ratelimit in the shared cache (the /api/ flood limit is `tenants.api.throttle`)."""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage  # type: ignore[import-untyped]


LOGIN_GROUP = "console-login-failures"


def _client_address(group: str, request: HttpRequest) -> str:
    # django-ratelimit's own "ip" key refuses a request without REMOTE_ADDR (a unix socket, some WSGI
    # harnesses) with an error; such requests share one counter instead of failing.
    address = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        # One IPv6 client holds a whole /64: count it as one address.
        return str(ipaddress.ip_network(f"{address}/{64 if ':' in address else 32}", strict=False).network_address)
    except ValueError:
        return address[:64] or "unknown"


def _username_key(group: str, request: HttpRequest) -> str:
    return (request.POST.get("username") or "").strip().lower()[:150]


def _usages(request: HttpRequest, *, increment: bool) -> list[dict]:
    rate = settings.CONSOLE_LOGIN_FAILURES
    found = []
    for key in (_username_key, _client_address):
        usage = get_usage(request, group=LOGIN_GROUP, key=key, rate=rate, method="POST", increment=increment)
        if usage is not None:
            found.append(usage)
    return found


def login_locked_for(request: HttpRequest) -> int | None:
    """Return the seconds left if this username or address used up its failed logins, else None."""
    spent = [u for u in _usages(request, increment=False) if u["count"] >= u["limit"]]
    return max(max(u["time_left"] for u in spent), 1) if spent else None


def login_failed(request: HttpRequest) -> None:
    """Count one failed login against the username and against the client address."""
    _usages(request, increment=True)
