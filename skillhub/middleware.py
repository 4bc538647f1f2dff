"""Make every response under /api/ speak the error shape of docs/contract.md (section 2), whatever produced it."""
from __future__ import annotations

import logging
import sys
from typing import Callable

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from skillhub import limits
from skillhub.api.errors import UNAVAILABLE_RETRY_AFTER_SECONDS, error_response, is_database_unavailable, unavailable_response

logger = logging.getLogger("skillhub.api")

API_PREFIX = "/api/"



def body_limit(path: str) -> int:
    """Return the largest Content-Length a request to `path` may declare (settings' table of limits).

    Evidence uploads stream to a temp file and enforce their own limit part by part
    (learning/evidence/uploads.py); here they are only held to that limit plus room for the form.
    """
    return limits.limit_for(path).max_bytes


def _console_unavailable() -> HttpResponse:
    response = HttpResponse(
        "<!doctype html><title>skillhub: try again shortly</title><h1>The database is not answering</h1>"
        "<p>skillhub is waiting for its database to come back. Reload this page in a few seconds.</p>",
        status=503,
    )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: an unreachable database anywhere in the stack is a 503 to retry, not a 500."""
    failure = sys.exc_info()[1]
    if failure is not None and is_database_unavailable(failure):
        return unavailable_response() if request.path_info.startswith(API_PREFIX) else _console_unavailable()
    return defaults.server_error(request)


class ApiErrorMiddleware:
    """Refuse oversized bodies, and turn HTML 404/405/500 pages into JSON errors for the API."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def _applies(self, request: HttpRequest) -> bool:
        return limits.speaks_api(request.path_info)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._applies(request):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "VALIDATION_ERROR", "Invalid Content-Length header")
        limit = body_limit(request.path_info)
        if length > limit:
            return error_response(413, "PAYLOAD_TOO_LARGE", f"Request body over {limit} bytes")
        response = self.get_response(request)
        is_json = response.get("Content-Type", "").startswith("application/json")
        if response.status_code == 404 and not is_json:
            return error_response(404, "NOT_FOUND")
        if response.status_code == 405 and not is_json:
            return error_response(405, "METHOD_NOT_ALLOWED")
        if response.status_code >= 500 and not is_json:
            return error_response(500, "SERVER_ERROR")
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            # A database restart is not a bug: say when to come back instead of logging a stack trace.
            logger.warning("database unavailable on %s %s: %s", request.method, request.path_info, type(exception).__name__)
            return unavailable_response() if self._applies(request) else _console_unavailable()
        if not self._applies(request):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path_info)
        return error_response(500, "SERVER_ERROR")

