"""Builders of the outbound side's own events (`webhook.ping`, `endpoint.disabled`)."""

from __future__ import annotations

from datetime import datetime

from skillhub.formats import iso
from webhooks.contract.core import EndpointDisabledData, WebhookPingData
from webhooks.models import Endpoint

PING_MESSAGE = "Ping from skillhub: this endpoint receives webhooks."


def webhook_ping_data(endpoint: Endpoint) -> WebhookPingData:
    """Return the data of a test ping to `endpoint`."""
    return {"id": endpoint.pk, "message": PING_MESSAGE}


def endpoint_disabled_data(endpoint: Endpoint, *, reason: str, disabled_at: datetime) -> EndpointDisabledData:
    """Return the data telling the tenant's other endpoints that `endpoint` was switched off."""
    return {"id": endpoint.pk, "url": endpoint.url, "deactivateReason": reason, "disabledAt": iso(disabled_at) or ""}
