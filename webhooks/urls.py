"""Webhook management routes under /api/v1/tenants/{slug}/."""

from __future__ import annotations

from django.urls import path

from webhooks.api import deliveries, endpoints

urlpatterns = [
    path("webhooks", endpoints.EndpointListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/deliveries/<str:delivery_id>", deliveries.DeliveryDetailApi.as_view(), name="webhook-delivery"),
    path("webhooks/deliveries/<str:delivery_id>/retry", deliveries.DeliveryRetryApi.as_view(), name="webhook-delivery-retry"),
    path("webhooks/<str:endpoint_id>", endpoints.EndpointDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<str:endpoint_id>/ping", endpoints.EndpointPingApi.as_view(), name="webhook-ping"),
    path(
        "webhooks/<str:endpoint_id>/rotate-secret", endpoints.EndpointRotateSecretApi.as_view(), name="webhook-rotate-secret"
    ),
    path("webhooks/<str:endpoint_id>/deliveries", deliveries.EndpointDeliveriesApi.as_view(), name="webhook-deliveries"),
    path("webhooks/<str:endpoint_id>/replay", endpoints.EndpointReplayApi.as_view(), name="webhook-replay"),
]
