"""Reads of the outbound side, always scoped to a tenant; the JSON shapes the API shows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet

from skillhub.formats import iso
from tenants.models import Tenant
from webhooks.models import Attempt, Delivery, Endpoint

# Additional header values may be credentials (document 001 shows a client secret): always masked.
MASKED = "********"


def endpoint_queryset(*, tenant: Tenant) -> QuerySet[Endpoint]:
    """Return the tenant's endpoints in their stable order."""
    return Endpoint.objects.filter(tenant=tenant).order_by("id")


def is_id(value: str, prefix: str) -> bool:
    """Say whether `value` has the shape of an id with this prefix (`we`, `dlv`)."""
    # Anything else cannot exist, and some strings (NUL bytes) cannot even be sent to PostgreSQL.
    return bool(re.fullmatch(prefix + r"_[0-9a-f]{32}", str(value)))


def endpoint_get(*, tenant: Tenant, endpoint_id: str) -> Endpoint | None:
    """Return the tenant's endpoint with this id, or None (also for malformed ids)."""
    if not is_id(endpoint_id, "we"):
        return None
    return Endpoint.objects.filter(tenant=tenant, pk=endpoint_id).first()


def endpoint_json(endpoint: Endpoint, *, with_secret: bool = False) -> dict[str, Any]:
    """Return the API representation of an endpoint; the secret only when just created or rotated."""
    body: dict[str, Any] = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.events or []),
        "enabled": endpoint.enabled,
        "deactivateReason": endpoint.deactivate_reason or None,
        "description": endpoint.description,
        "payloadStyle": endpoint.payload_style,
        "retryPolicy": endpoint.retry_policy,
        "sendSecretHeader": endpoint.send_secret_header,
        "basicAuthUsername": endpoint.basic_auth_username or None,
        "basicAuthPasswordSet": bool(endpoint.basic_auth_password),
        "additionalHeaders": {name: MASKED for name in (endpoint.additional_headers or {})},
        "secretRotationEndsAt": iso(endpoint.previous_secret_expires_at) if endpoint.previous_secret else None,
        "lastSequence": endpoint.sequence,
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
    }
    if with_secret:
        body["secret"] = endpoint.secret
    return body


def delivery_queryset(
    *, tenant: Tenant, endpoint: Endpoint, state: str | None = None, event_type: str | None = None
) -> QuerySet[Delivery]:
    """Return an endpoint's deliveries, oldest first, optionally of one state or event type."""
    queryset = Delivery.objects.filter(tenant=tenant, endpoint=endpoint).order_by("id")
    if state:
        queryset = queryset.filter(state=state)
    if event_type:
        queryset = queryset.filter(event_type=event_type)
    return queryset


def delivery_get(*, tenant: Tenant, delivery_id: str) -> Delivery | None:
    """Return the tenant's delivery with this id, or None (also for malformed ids)."""
    if not is_id(delivery_id, "dlv"):
        return None
    return Delivery.objects.select_related("endpoint").filter(tenant=tenant, pk=delivery_id).first()


def attempts_by_delivery(*, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
    """Return the attempts of a page of deliveries, in one query."""
    grouped: dict[str, list[Attempt]] = {}
    for attempt in Attempt.objects.filter(delivery_id__in=delivery_ids).order_by("id"):
        grouped.setdefault(attempt.delivery_id, []).append(attempt)
    return grouped


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    """Return the API representation of one attempt."""
    return {
        "number": attempt.number,
        "at": iso(attempt.started_at),
        "succeeded": attempt.succeeded,
        "statusCode": attempt.status_code,
        "durationMs": attempt.duration_ms,
        "error": attempt.error or None,
        "responseBody": attempt.response_body,
    }


def delivery_json(delivery: Delivery, attempts: list[Attempt] | None = None) -> dict[str, Any]:
    """Return the API representation of a delivery with its attempts."""
    return {
        "id": delivery.pk,
        "endpointId": delivery.endpoint_id,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "sequence": delivery.sequence,
        "status": delivery.state,
        "attemptCount": delivery.attempt_count,
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error or None,
        "deliveredAt": iso(delivery.delivered_at),
        "isPing": delivery.is_ping,
        "createdAt": iso(delivery.created_at),
        "attempts": [attempt_json(attempt) for attempt in attempts or []],
    }


def endpoint_health_annotations(*, now: Any) -> dict[str, Any]:
    """Return queryset annotations of each endpoint's health: last attempt, success over 24 h, failures in a row."""
    from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
    from django.db.models.functions import Coalesce

    since = now - timedelta(hours=24)
    attempts = Attempt.objects.filter(delivery__endpoint=OuterRef("pk"))
    # Nested one level deeper than `attempts`, so it names the endpoint as OuterRef(OuterRef(...)).
    last_success = (
        Attempt.objects.filter(delivery__endpoint=OuterRef(OuterRef("pk")), succeeded=True).order_by("-id").values("id")[:1]
    )

    def counted(queryset: QuerySet) -> Subquery:
        return Subquery(
            queryset.order_by().values("delivery__endpoint").annotate(n=Count("id")).values("n")[:1], output_field=IntegerField()
        )

    return {
        "last_attempt_at": Subquery(attempts.order_by("-id").values("started_at")[:1]),
        "last_attempt_status": Subquery(attempts.order_by("-id").values("status_code")[:1]),
        "attempts_24h": Coalesce(counted(attempts.filter(started_at__gte=since)), 0),
        "succeeded_24h": Coalesce(counted(attempts.filter(started_at__gte=since, succeeded=True)), 0),
        "failures_in_a_row": Coalesce(
            counted(attempts.filter(Q(succeeded=False) & Q(id__gt=Coalesce(Subquery(last_success), 0)))), 0
        ),
    }
