"""The signed signal webhook's OpenAPI description (`extend_schema` on `signals_inbox.webhook.SignalWebhookApi`).

Its answers are its own shapes (`{"error": "bad_signature"}`, not the API's error envelope), so they
are written here whole; the operation has no API key (`auth=[]`).
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

DESCRIPTION = (
    "Authenticated by `X-Skillhub-Signature`: the lowercase hex HMAC-SHA256 of the exact raw body, "
    "keyed by the tenant's signal secret; or, replay-proof, the Standard Webhooks form: `webhook-id`, "
    "`webhook-timestamp` (Unix seconds, within 5 minutes) and `webhook-signature: v1,<base64 HMAC-SHA256 of "
    "\"{id}.{timestamp}.{body}\">`, keyed by the UTF-8 bytes of the same secret string; an id is accepted once. "
    "A tenant can require the timestamped form (`PUT /api/v1/admin/tenants/{slug}/signal-signing`). "
    "No API key. Answers as soon as the signal is recorded (docs/contract.md, \"Inbound signals\")."
)

PARAMETERS = [
    OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH),
    OpenApiParameter(
        "X-Skillhub-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
        description="the plain form (without the webhook-* headers)", pattern="^[0-9a-f]{64}$",
    ),
    OpenApiParameter(
        "webhook-id", {"type": "string", "maxLength": 200}, OpenApiParameter.HEADER, required=False,
        description="the timestamped form: a message id, accepted once",
    ),
    OpenApiParameter(
        "webhook-timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
        description="the timestamped form: Unix seconds", pattern="^[0-9]{1,12}$",
    ),
    OpenApiParameter(
        "webhook-signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
        description="the timestamped form: space-separated v1,<base64> signatures",
    ),
]

REQUEST = {
    "application/json": {
        "type": "object",
        "required": ["event"],
        "properties": {
            "event": {"type": "string", "example": "signal.credential_expiring"},
            "data": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"}, "external_worker_id": {"type": "string"}, "email": {"type": "string"},
                    "learner_id": {"type": "string"}, "site": {"type": "string"}, "topic": {"type": "string"},
                    "category": {"type": "string"}, "severity": {"type": "integer", "minimum": 1, "maximum": 4},
                    "dedupe_key": {"type": "string"}, "payload": {"type": "object"},
                },
            },
        },
    }
}


def _error(codes: list[str], *, detail: str | None = None) -> dict:
    properties: dict = {"error": {"type": "string", "enum": codes}}
    if detail is not None:
        properties["detail"] = {"type": "string", "description": detail}
    return {"type": "object", "required": ["error"], "properties": properties}


RESPONSES = {
    200: OpenApiResponse(
        description="Recorded",
        response={
            "type": "object",
            "properties": {
                "ok": {"type": "boolean"}, "applied": {"type": "boolean"}, "signalId": {"type": "string"}, "deduped": {"type": "boolean"},
                "reason": {
                    "type": "string", "enum": ["open_need", "closed_need_unchanged", "closed_need_changed", "reopen_window_passed"],
                    "description": "why the signal was (or was not) folded into an existing need; absent for a first signal",
                },
            },
        },
    ),
    400: OpenApiResponse(description="invalid_payload; nothing stored", response=_error(["invalid_payload"], detail="what is wrong")),
    401: OpenApiResponse(
        description="bad_signature (also for an unknown tenant, a stale timestamp, a replayed webhook-id)",
        response=_error(["bad_signature"], detail="only once the signature itself verified: what else was wrong"),
    ),
    405: OpenApiResponse(description="method_not_allowed: only POST", response=_error(["method_not_allowed"])),
    413: OpenApiResponse(description="payload_too_large (over 256 KiB)", response=_error(["payload_too_large"])),
    503: OpenApiResponse(description="unavailable: the database could not record it; Retry-After says when to send it again", response=_error(["unavailable"])),
}
