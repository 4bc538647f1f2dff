"""The one place that renders errors in the contract's shape (docs/contract.md, section 2) for everything under /api/."""
from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from skillhub.errors import DomainError, ValidationFailed

logger = logging.getLogger("skillhub.api")

_DEFAULT_MESSAGES = {
    "UNAUTHORIZED": "Missing, unknown, revoked or expired API key",
    "FORBIDDEN": "This API key may not do that",
    "NOT_FOUND": "Resource not found",
    "VALIDATION_ERROR": "Invalid request data",
    "CONFLICT": "Conflicts with an existing resource",
    "METHOD_NOT_ALLOWED": "Method not allowed",
    "PAYLOAD_TOO_LARGE": "Request body too large",
    "UNSUPPORTED_MEDIA_TYPE": "Unsupported media type",
    "NOT_ACCEPTABLE": "Cannot produce an acceptable response",
    "RATE_LIMITED": "Too many requests",
    "SERVER_ERROR": "Internal error",
    "SERVICE_UNAVAILABLE": "The service cannot reach its database; try again after Retry-After seconds",
}

# What a 503 asks the client to wait: a database restart or failover usually takes seconds.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached or answer (down, restarting, locked), not that a query was wrong."""
    return isinstance(exc, (OperationalError, InterfaceError))


def unavailable_response() -> JsonResponse:
    """Answer 503 with Retry-After: the request may succeed once the database is back."""
    response = error_response(503, "SERVICE_UNAVAILABLE")
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def error_body(code: str, message: str | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the error envelope (docs/contract.md, section 2)."""
    body: dict[str, Any] = {"code": code, "message": message or _DEFAULT_MESSAGES.get(code, code)}
    if details:
        body["details"] = details
    return {"error": body}


def error_response(status: int, code: str, message: str | None = None, details: dict | None = None) -> JsonResponse:
    """Return a plain Django JSON error response (for middleware and non-DRF views)."""
    return JsonResponse(error_body(code, message, details), status=status)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _flatten(detail: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten DRF's nested error detail into (field path, reason) pairs, in order."""
    if isinstance(detail, dict):
        pairs: list[tuple[str, str]] = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else _camel(str(key))
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            pairs.extend(_flatten(value, path))
        return pairs
    if isinstance(detail, list):
        pairs = []
        for index, value in enumerate(detail):
            path = f"{prefix}[{index}]" if isinstance(value, (dict, list)) else prefix
            pairs.extend(_flatten(value, path))
        return pairs
    return [(prefix, str(detail))]


def validation_response(pairs: list[tuple[str, str]], message: str | None = None) -> Response:
    """Answer 400 listing every invalid field, the first in `details`."""
    field, reason = pairs[0]
    details: dict[str, Any] = {"field": field or None, "reason": reason}
    if len(pairs) > 1 or field:
        details["errors"] = [{"field": f or None, "reason": r} for f, r in pairs]
    text = message or (f"Invalid {field}" if field else reason)
    return Response(error_body("VALIDATION_ERROR", text, details), status=400)


_STATUS_CODES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """Translate any exception raised in an API view into the contract's error shape."""
    if isinstance(exc, ValidationFailed):
        pairs = [(_camel(field), reason) for field, reason in exc.errors.items()]
        return validation_response(pairs, exc.message if exc.message != f"Invalid {exc.field}" else None)
    if isinstance(exc, DomainError):
        details = {"field": _camel(exc.field), "reason": exc.reason} if exc.field else None
        return Response(error_body(exc.code, exc.message, details), status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("NOT_FOUND"), status=404)
    if is_database_unavailable(exc):
        logger.warning("database unavailable: %s", type(exc).__name__)
        return Response(
            error_body("SERVICE_UNAVAILABLE"), status=503, headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)}
        )
    if isinstance(exc, PermissionDenied):
        return Response(error_body("FORBIDDEN"), status=403)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("PAYLOAD_TOO_LARGE"), status=413)
    if isinstance(exc, SuspiciousOperation):  # e.g. more form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        return Response(error_body("VALIDATION_ERROR", "Malformed request", {"reason": str(exc)[:200]}), status=400)
    if isinstance(exc, drf.ParseError):
        return Response(error_body("VALIDATION_ERROR", "Malformed request body", {"reason": str(exc.detail)}), status=400)
    if isinstance(exc, drf.ValidationError):
        pairs = _flatten(exc.detail) or [("", "Invalid request data")]
        return validation_response(pairs)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        message = str(exc.detail) if isinstance(exc, drf.AuthenticationFailed) else None
        response = Response(error_body("UNAUTHORIZED", message), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if isinstance(exc, drf.Throttled):
        wait = max(1, int(getattr(exc, "wait", None) or 1))
        response = Response(error_body("RATE_LIMITED", f"Rate limit exceeded; retry in {wait} s"), status=429)
        response["Retry-After"] = str(wait)
        return response
    if isinstance(exc, drf.APIException):
        code = _STATUS_CODES.get(exc.status_code, "SERVER_ERROR" if exc.status_code >= 500 else "VALIDATION_ERROR")
        message = str(exc.detail) if isinstance(exc.detail, str) else None
        return Response(error_body(code, message), status=exc.status_code)
    logger.exception("unhandled API error in %s", re.sub(r"[^\w./-]", "", str(context.get("view", ""))))
    return Response(error_body("SERVER_ERROR"), status=500)
