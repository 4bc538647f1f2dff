"""Name the console's signed-in staff user as the actor of its writes (see tenants.audit)."""
from __future__ import annotations

from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from tenants import audit


class ConsoleActorMiddleware:
    """Name the signed-in staff user as the actor of the console's writes, for the audit log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            # No session, no signed-in user: machine calls (the API, the signal webhook) never load one.
            return self.get_response(request)
        user = getattr(request, "user", None)
        if request.method in ("GET", "HEAD", "OPTIONS") or user is None or not user.is_authenticated or not user.is_staff:
            return self.get_response(request)
        with audit.acting_as(audit.console_actor(user)):
            return self.get_response(request)
