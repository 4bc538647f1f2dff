"""The signal ceiling: a bare answer right after the common middleware, with no work (the webhook itself runs the whole stack)."""
from __future__ import annotations

from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

PATH = "/bench/signal-bare"


class BareSignalMiddleware:
    """Read the body as the webhook does and answer its 200 shape: no signature, no database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != PATH:
            return self.get_response(request)
        request.read(settings.SIGNAL_MAX_BODY_BYTES + 1)
        return JsonResponse({"ok": True, "applied": True, "signalId": "sig_bare", "deduped": False})
