"""Webhook management routes under /api/v1/tenants/{slug}/."""

from __future__ import annotations

from django.urls import path

from webhooks import api

urlpatterns = [
    path("webhooks", api.EndpointListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/deliveries/<str:delivery_id>", api.DeliveryDetailApi.as_view(), name="webhook-delivery"),
    path("webhooks/deliveries/<str:delivery_id>/retry", api.DeliveryRetryApi.as_view(), name="webhook-delivery-retry"),
    path("webhooks/<str:endpoint_id>", api.EndpointDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<str:endpoint_id>/ping", api.EndpointPingApi.as_view(), name="webhook-ping"),
    path(
        "webhooks/<str:endpoint_id>/rotate-secret", api.EndpointRotateSecretApi.as_view(), name="webhook-rotate-secret"
    ),
    path("webhooks/<str:endpoint_id>/deliveries", api.EndpointDeliveriesApi.as_view(), name="webhook-deliveries"),
    path("webhooks/<str:endpoint_id>/replay", api.EndpointReplayApi.as_view(), name="webhook-replay"),
]
