"""The outbound events in the OpenAPI document: one entry per catalog type under the 3.1 `webhooks` object."""

from __future__ import annotations

from typing import Any

from webhooks.catalog import EVENT_TYPES, EventType
from webhooks.contract.schema import api_components

SIGNATURE_HEADERS: list[dict[str, Any]] = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "The event id; the same on every retry, so receivers can drop duplicates."},
    {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unix seconds when this attempt was signed."},
    {"name": "webhook-signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Standard Webhooks: `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`; two during a rotation."},
    {"name": "X-Skillhub-Event", "in": "header", "required": True, "schema": {"type": "string"}},
    {"name": "X-Skillhub-Signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Lowercase hex HMAC-SHA256 of the raw body, keyed by the whole secret string."},
]

EVENT_TYPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "description", "aliases", "subject", "sent", "schema"],
    "properties": {
        "type": {"type": "string"},
        "description": {"type": "string"},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "subject": {"type": ["string", "null"]},
        "sent": {"type": "boolean", "description": "false while nothing in skillhub produces this type yet"},
        "schema": {"type": "object", "description": "JSON Schema (2020-12) of the event's `data`"},
    },
}


def full_body_schema(event_type: EventType) -> dict[str, Any]:
    """Return the JSON Schema of a `full` delivery body of `event_type`."""
    return {
        "type": "object",
        "required": ["id", "type", "timestamp", "tenantId", "data"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": "^evt_"},
            "type": {"type": "string", "const": event_type.name},
            "timestamp": {"type": "string", "format": "date-time"},
            "tenantId": {"type": "string", "format": "uuid"},
            "data": event_type.schema,
        },
    }


def thin_body_schema(event_type: EventType) -> dict[str, Any]:
    """Return the JSON Schema of a `thin` delivery body of `event_type`."""
    return {
        "type": "object",
        "required": ["id", "type", "action", "document"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": "^evt_"},
            "type": {"type": "string", "const": event_type.name},
            "action": {"type": "string", "const": event_type.name.rsplit(".", 1)[-1]},
            "document": {
                "type": "object",
                "required": ["type", "id", "url"],
                "properties": {
                    "type": {"type": "string"},
                    "id": {"type": ["string", "null"]},
                    "url": {"type": ["string", "null"], "format": "uri"},
                },
            },
        },
    }


def _webhook(event_type: EventType) -> dict[str, Any]:
    status = "" if event_type.sent else " Not sent yet: listed so integrations can be planned."
    return {
        "post": {
            "operationId": f"event_{event_type.name.replace('.', '_')}",
            "summary": event_type.description,
            "description": f"`{event_type.name}`" + (f" (aliases: {', '.join(event_type.aliases)})" if event_type.aliases else "")
            + ". The body is the `full` style unless the endpoint chose `thin`." + status,
            "tags": ["events"],
            "parameters": SIGNATURE_HEADERS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"oneOf": [full_body_schema(event_type), thin_body_schema(event_type)]}}
                },
            },
            "responses": {"2XX": {"description": "Received. Any other answer is retried on the endpoint's policy."}},
        }
    }


def add_event_webhooks(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: list every catalog event under `webhooks`."""
    result["webhooks"] = {item.name: _webhook(item) for item in EVENT_TYPES}
    return result


def add_contract_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the API components whose shape is a contract type (`api_component`)."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(api_components())
    return result
