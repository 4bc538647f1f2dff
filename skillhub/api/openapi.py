"""The OpenAPI document's shared error component, and the 4xx answers every operation documents with it.

Registered as a drf-spectacular post-processing hook: each operation keeps the success answers
its view declares, and gains the error answers its kind of route can give, all in the one contract
error shape (`#/components/schemas/Error`).
"""
from __future__ import annotations

from typing import Any

from skillhub import limits

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "enum": [
                        "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "METHOD_NOT_ALLOWED", "VALIDATION_ERROR", "CONFLICT",
                        "GONE", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "NOT_ACCEPTABLE", "RATE_LIMITED",
                        "SERVER_ERROR",
                    ],
                },
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "description": "For VALIDATION_ERROR: the first invalid field and every one in `errors`",
                    "properties": {
                        "field": {"type": ["string", "null"]},
                        "reason": {"type": "string"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"field": {"type": ["string", "null"]}, "reason": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        }
    },
}

_DESCRIPTIONS = {
    "400": "VALIDATION_ERROR: invalid parameters or body (every invalid field listed)",
    "401": "UNAUTHORIZED: missing, unknown, revoked or expired credentials",
    "403": "FORBIDDEN: the credentials lack the scope or role",
    "404": "NOT_FOUND: unknown tenant, id, or another tenant's object",
    "406": "NOT_ACCEPTABLE: only JSON is answered",
    "409": "CONFLICT: the change conflicts with the current state",
    "413": "PAYLOAD_TOO_LARGE: a body over 1 MiB",
    "415": "UNSUPPORTED_MEDIA_TYPE: the body is not JSON (or form fields where accepted)",
    "429": "RATE_LIMITED: over the plan's limit, or too many requests without a key from one address; Retry-After says when to come back",
    "503": "SERVICE_UNAVAILABLE: the database does not answer; nothing was changed, Retry-After says when to try again",
}
_WRITES = {"post", "put", "patch", "delete"}


def _error_codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["400", "404", "406", "503"]
    if operation.get("security") not in (None, [], [{}]):
        codes += ["401", "403"]
    # Keyed calls count against the plan; calls without a key against their client address.
    codes.append("429")
    if method in _WRITES:
        codes.append("409")
    if "requestBody" in operation:
        codes += ["413", "415"]
    return sorted(codes)


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the Error component and each operation's error answers (the signal webhook keeps its own shapes)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        if not limits.speaks_api(path):  # a route with its own answer shapes documents them itself
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code in _error_codes(path, method, operation):
                operation["responses"].setdefault(code, {"description": _DESCRIPTIONS[code], "content": reference})
    return result


TENANT_API_PREFIX = "/api/v1/tenants/"
IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Send the same key to retry safely: for 24 hours a repeat with the same body gets the first "
    "answer again (with `Idempotent-Replayed: true`) and changes nothing; another body is a 409, and a repeat "
    "while the first still runs is a 409 with `Retry-After`. Scoped to the API key.",
}


def document_idempotency(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Declare the optional `Idempotency-Key` header on every POST of the tenant API."""
    for path, operations in result.get("paths", {}).items():
        operation = operations.get("post")
        if not path.startswith(TENANT_API_PREFIX) or not isinstance(operation, dict):
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == IDEMPOTENCY_PARAMETER["name"] for p in parameters):
            parameters.append(dict(IDEMPOTENCY_PARAMETER))
    return result
