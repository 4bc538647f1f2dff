"""Serve the signed signal webhook before the browser-oriented middleware.

The webhook is machine to machine: its only credential is the HMAC of the body, so sessions,
authentication, CSRF, messages and frame options have nothing to do for it, yet each would run on
every push. This middleware sits right after the security and common middleware and answers paths
under `settings.SIGNALS_INTEGRATION_PREFIX` that `signals_inbox.integration_urls` routes (the webhook), with the
view that urlconf names; any other path goes on as usual.
"""
from __future__ import annotations

from typing import Callable

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, get_resolver

from skillhub import logcontext, metrics
from skillhub.requestlog import bind_url_kwargs, name_route

PREFIX = settings.SIGNALS_INTEGRATION_PREFIX
_integration_routes = get_resolver("signals_inbox.integration_urls")


def _webhook_match(path: str) -> ResolverMatch | None:
    if not path.startswith(PREFIX):
        return None
    try:
        return _integration_routes.resolve("/" + path[len(PREFIX) :])
    except Resolver404:
        return None


class SignalWebhookMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = _webhook_match(request.path_info)
        if match is None:
            return self.get_response(request)
        name_route(request, PREFIX + match.route)
        bind_url_kwargs(match.kwargs)
        response = match.func(request, *match.args, **match.kwargs)
        _observe(response)
        return response


def _observe(response: HttpResponse) -> None:
    """Count the answer by what it said, and name the signal it recorded in the request's log line."""
    try:
        body = orjson.loads(response.content)
    except (orjson.JSONDecodeError, AttributeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    metrics.signal_answered(status=response.status_code, body=body)
    if isinstance(body.get("signalId"), str):
        logcontext.bind(signalId=body["signalId"])
