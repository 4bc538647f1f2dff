"""The client address that both throttles key on: console sign-in (`lockout.py`) and the /api/ flood limit (`tenants.api.throttle`)."""
from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def _client_address(group: str, request: HttpRequest) -> str:
    # django-ratelimit's own "ip" key refuses a request without REMOTE_ADDR (a unix socket, some WSGI
    # harnesses) with an error; such requests share one counter instead of failing.
    address = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        # One IPv6 client holds a whole /64: count it as one address.
        return str(ipaddress.ip_network(f"{address}/{64 if ':' in address else 32}", strict=False).network_address)
    except ValueError:
        return address[:64] or "unknown"
