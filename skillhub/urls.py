"""Top-level routes: the admin, the API (per app) and its OpenAPI spec and docs."""
from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

from skillhub.api.meta import health

tenant_api = [
    path("", include("learning.urls")),
    path("", include("webhooks.urls")),
    path("", include("signals_inbox.urls")),
    path("", include("tenants.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health, name="health"),
    path("api/v1/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("api/v1/docs", SpectacularRedocView.as_view(url_name="openapi"), name="api-docs"),
    path("api/v1/event-types", include("webhooks.public_urls")),
    path("api/v1/tenants/<slug:slug>/", include(tenant_api)),
    # Answered earlier by signals_inbox.middleware.SignalWebhookMiddleware; kept here for reverse() and OpenAPI.
    path(settings.SIGNALS_INTEGRATION_PREFIX.lstrip("/"), include("signals_inbox.integration_urls")),
    path("api/v1/admin/tenants/<slug:slug>/", include("signals_inbox.admin_urls")),
]
