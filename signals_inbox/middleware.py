"""Serve the signed signal webhook before the browser-oriented middleware.

The webhook is machine to machine: its only credential is the HMAC of the body, so sessions,
authentication, CSRF, messages and frame options have nothing to do for it, yet each would run on
every push. This middleware sits right after the security and common middleware and hands
`POST /api/v1/integration/<slug>/webhook` to the view itself. The URL pattern stays in
`integration_urls` for reversing and the OpenAPI document; any other path goes on as usual.
"""
from __future__ import annotations

from typing import Callable

from django.http import HttpRequest, HttpResponse

from signals_inbox.webhook import signal_webhook

PREFIX = "/api/v1/integration/"
SUFFIX = "/webhook"


def webhook_slug(path: str) -> str | None:
    """Return the tenant slug of a webhook path, or None when the path is not the webhook's."""
    if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
        return None
    slug = path[len(PREFIX) : -len(SUFFIX)]
    return slug if slug and "/" not in slug else None


class SignalWebhookMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        slug = webhook_slug(request.path_info)
        if slug is None:
            return self.get_response(request)
        return signal_webhook(request, slug)
