"""Scrape-time gauges of the outbound side: the delivery backlog, its age, circuits and disabled endpoints."""
from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from skillhub.metrics import Gauges, scrape_gauges
from webhooks.models import Delivery, DeliveryState, Endpoint


@scrape_gauges
def delivery_backlog() -> Gauges:
    """Read from the partial indexes of unfinished deliveries and the endpoints table, never from history."""
    now = timezone.now()
    unfinished = Delivery.objects.filter(state__in=[DeliveryState.PENDING, DeliveryState.SENDING])
    pending = unfinished.count()
    # The oldest due delivery of an enabled endpoint (a disabled one's wait for it to be enabled again).
    oldest = (
        unfinished.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    open_circuits = Endpoint.objects.filter(circuit_open_until__gt=now, enabled=True).values("pk")
    deferred = Delivery.objects.filter(state=DeliveryState.PENDING, endpoint__in=open_circuits).count()
    endpoints = Endpoint.objects.aggregate(
        total=Count("pk"),
        disabled=Count("pk", filter=Q(enabled=False)),
        circuits=Count("pk", filter=Q(enabled=True, consecutive_failures__gte=int(settings.WEBHOOKS_BREAKER_THRESHOLD))),
    )
    return [
        ("skillhub_webhook_deliveries_pending", "Deliveries not finished yet (waiting for an attempt or in flight).", pending),
        (
            "skillhub_webhook_oldest_due_delivery_age_seconds",
            "How long the oldest due delivery of an enabled endpoint has been waiting past its due time (0 when none).",
            max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        ),
        ("skillhub_webhook_deliveries_deferred", "Pending deliveries of endpoints whose circuit breaker is open (cooling down).", deferred),
        ("skillhub_webhook_circuits_open", "Enabled endpoints whose circuit breaker is open or probing.", endpoints["circuits"]),
        ("skillhub_webhook_endpoints_disabled", "Endpoints disabled (by failures or by their tenant).", endpoints["disabled"]),
        ("skillhub_webhook_endpoints", "Webhook endpoints, enabled or not.", endpoints["total"]),
    ]
