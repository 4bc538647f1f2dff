"""One log line and one metric sample per request, under a request id the caller can follow.

The outermost middleware: it sees every request, those answered early (health, metrics, the
signal webhook, static files) included. The id comes from `X-Request-ID` when the caller sent a
sane one, else it is made here; it is returned in the response's `X-Request-ID` and bound to
every line logged while the request runs (skillhub.logcontext), with the tenant's slug and the
ids the URL names. Nothing else of the request is logged: no query string, header or body.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from skillhub import logcontext, metrics

logger = logging.getLogger("skillhub.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# What a request id from outside may look like (UUIDs, ULIDs, trace ids): bounded, no spaces or quotes.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@=+/-]{0,127}$")
# Load balancers and Prometheus ask these every few seconds: their lines are DEBUG, not INFO.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
_ID_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def request_id_from(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is a sane one, else a new id."""
    offered = request.META.get("HTTP_X_REQUEST_ID", "")
    return offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex


def name_route(request: HttpRequest, template: str) -> None:
    """Name the route of a request answered before URL resolution (labels and log lines use it)."""
    request.observed_route = template  # type: ignore[attr-defined]


def route_of(request: HttpRequest) -> str:
    """The route template (never the raw path): bounded, whatever the caller requested."""
    named = getattr(request, "observed_route", None)
    if named:
        return str(named)
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class RequestObservationMiddleware:
    """Give each request an id, and count, time and log it once it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        token = logcontext.start(requestId=request_id)
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            route = route_of(request)
            metrics.http_request(route=route, method=request.method or "", status=response.status_code, seconds=seconds)
            logger.log(
                logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": response.status_code,
                    "durationMs": round(seconds * 1000, 2),
                    "client": request.META.get("REMOTE_ADDR", ""),
                },
            )
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            logcontext.end(token)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: dict[str, Any]) -> None:
        bind_url_kwargs(view_kwargs)


def bind_url_kwargs(kwargs: dict[str, Any]) -> None:
    """Bind the tenant (the URL's slug) and the ids the URL names (`need_id` → `needId`) to the log context."""
    fields: dict[str, Any] = {}
    slug = kwargs.get("slug")
    if isinstance(slug, str) and _ID_VALUE.match(slug):
        fields["tenant"] = slug
    for name, value in kwargs.items():
        if name.endswith("_id") and isinstance(value, (str, int)) and _ID_VALUE.match(str(value)):
            fields[_camel(name)] = str(value)
    if fields:
        logcontext.bind(**fields)
