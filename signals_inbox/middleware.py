"""Serve the signed signal webhook before the browser-oriented middleware.

The webhook is machine to machine: its only credential is the HMAC of the body, so sessions,
authentication, CSRF, messages and frame options have nothing to do for it, yet each would run on
every push. This middleware sits right after the security and common middleware and answers paths
under `settings.SIGNALS_INTEGRATION_PREFIX` that `signals_inbox.integration_urls` routes (the webhook), with the
view that urlconf names; any other path goes on as usual.
"""
from __future__ import annotations

from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, get_resolver

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
        return match.func(request, *match.args, **match.kwargs)
