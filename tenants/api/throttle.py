"""The flood limit of /api/ for requests without a credential that verifies, counted per client address.

"Anonymous" means unauthenticated, whatever the request carries: no `Authorization` header, an
empty one, `Basic …`, a made-up `Bearer shk_…`, a revoked or expired key all count against the
address's `ANONYMOUS_API_RATE`. A key that verifies never counts. The credential is looked up here
once per request (DRF's authenticators reuse the answer), and cheaply: a malformed one costs no
lookup, a known key or a known miss is answered from the caches, and an address already over its
limit may have unknown keys looked up only within `ANONYMOUS_API_LOOKUPS` (then 429, no query).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage  # type: ignore[import-untyped]

from skillhub import limits
from skillhub.api.errors import error_response
from skillhub.console.throttle import _client_address
from skillhub.crypto import token_hash
from tenants.models import ApiKey, StaffToken
from tenants.selectors import api_key_find, api_key_known, staff_token_find, staff_token_known_missing
from tenants.services import API_KEY_PREFIX

API_GROUP = "anonymous-api"
LOOKUP_GROUP = "anonymous-api-lookups"
# Issued keys and tokens are the prefix and 43 URL-safe characters; anything far from that is no key.
_TOKEN = re.compile(r"^sh[kt]_[A-Za-z0-9_-]{20,128}$")
_ATTRIBUTE = "skillhub_credential"


@dataclass(frozen=True)
class Credential:
    """What a request's `Authorization` header turned out to be: a verified key or token, or nothing usable."""

    api_key: ApiKey | None = None
    staff_token: StaffToken | None = None
    # Why nothing usable came of it, for the 401 DRF answers ("" when something verified).
    problem: str = ""

    @property
    def verified(self) -> bool:
        return self.api_key is not None or self.staff_token is not None


def bearer_token(header: str) -> str | None:
    """Return the token of an `Authorization: Bearer <token>` header value, or None."""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


def _look_up(token: str, *, may_query: bool) -> Credential | None:
    """Verify a well-formed token; None when only the database could tell and `may_query` is off."""
    key_hash = token_hash(token)
    if token.startswith(API_KEY_PREFIX):
        known, api_key = api_key_known(key_hash=key_hash)
        if not known:
            if not may_query:
                return None
            api_key = api_key_find(key_hash=key_hash)
        return Credential(api_key=api_key) if api_key else Credential(problem="Unknown, revoked or expired API key")
    if staff_token_known_missing(key_hash=key_hash):
        return Credential(problem="Unknown or revoked staff token")
    if not may_query:
        return None
    token_row = staff_token_find(key_hash=key_hash)
    return Credential(staff_token=token_row) if token_row else Credential(problem="Unknown or revoked staff token")


def credential(request: HttpRequest, *, may_query: bool = True) -> Credential | None:
    """Return what the request's `Authorization` header verifies to (memoised on the request); None without a header.

    With `may_query` off, a well-formed token that the caches do not know yet is left undecided (None).
    """
    found = getattr(request, _ATTRIBUTE, None)
    if found is not None:
        return found
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not isinstance(header, str) or not header.strip():
        return None
    token = bearer_token(header)
    if token is None:
        found = Credential(problem="Authorization must be 'Bearer <api key>'")
    elif not _TOKEN.match(token):
        found = Credential(problem="Unknown API key")
    else:
        found = _look_up(token, may_query=may_query)
        if found is None:
            return None
    setattr(request, _ATTRIBUTE, found)
    return found


def _limited(request: HttpRequest, *, count: bool) -> HttpResponse | None:
    usage = get_usage(request, group=API_GROUP, key=_client_address, rate=settings.ANONYMOUS_API_RATE, increment=count)
    over = usage is not None and (usage["should_limit"] if count else usage["count"] >= usage["limit"])
    if not over:
        return None
    wait = max(int(usage["time_left"]), 1)
    response = error_response(429, "RATE_LIMITED", f"Too many requests without a valid API key; retry in {wait} s")
    response["Retry-After"] = str(wait)
    return response


def _lookup_allowed(request: HttpRequest) -> bool:
    usage = get_usage(request, group=LOOKUP_GROUP, key=_client_address, rate=settings.ANONYMOUS_API_LOOKUPS, increment=True)
    return usage is None or not usage["should_limit"]


class AnonymousApiThrottleMiddleware:
    """Refuse requests to /api/ without a credential that verifies once one address sends too many (429)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not limits.speaks_api(request.path_info):  # the signal webhook's credential is its signature
            return self.get_response(request)
        if request.META.get("HTTP_AUTHORIZATION", "").strip():
            presented = credential(request, may_query=False)
            if presented is None:
                # Only the database knows this token. An address already over its limit asks it only within
                # a small budget: a real key still gets through a flood, made-up ones stop costing queries.
                refused = _limited(request, count=False)
                if refused is not None and not _lookup_allowed(request):
                    _limited(request, count=True)
                    return refused
                presented = credential(request)
            if presented is not None and presented.verified:
                return self.get_response(request)
        refused = _limited(request, count=True)
        return refused if refused is not None else self.get_response(request)
