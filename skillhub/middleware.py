"""Make every response under /api/ speak the error shape of docs/contract.md (section 2), whatever produced it."""
from __future__ import annotations

import logging
from typing import Callable

from django.http import HttpRequest, HttpResponse

from skillhub import limits
from skillhub.api.errors import error_response

logger = logging.getLogger("skillhub.api")

API_PREFIX = "/api/"



def body_limit(path: str) -> int:
    """Return the largest Content-Length a request to `path` may declare (settings' table of limits).

    Evidence uploads stream to a temp file and enforce their own limit part by part
    (learning/evidence/uploads.py); here they are only held to that limit plus room for the form.
    """
    return limits.limit_for(path).max_bytes


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
        if not self._applies(request):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path_info)
        return error_response(500, "SERVER_ERROR")

