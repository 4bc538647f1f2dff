"""Top-level routes: the admin, the API (per app) and its OpenAPI spec and docs."""
from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.gzip import gzip_page
from drf_spectacular.views import SpectacularJSONAPIView

from skillhub.api.docs import DocsView
from skillhub.console.home import favicon_view, home_view
from skillhub.operations import healthz, metrics_view, readyz

tenant_api = [
    path("", include("learning.urls")),
    path("", include("webhooks.urls")),
    path("", include("signals_inbox.urls")),
    path("", include("tenants.retention_urls")),
    path("", include("tenants.urls")),
]

urlpatterns = [
    path("", home_view, name="home"),
    path("favicon.ico", favicon_view, name="favicon"),
    path("admin/", admin.site.urls),
    # Answered earlier by skillhub.operations.OperationsMiddleware; kept here for reverse().
    path("healthz", healthz, name="health"),
    path("readyz", readyz, name="ready"),
    path("metrics", metrics_view, name="metrics"),
    # Over a megabyte of JSON, a tenth of it gzipped: compressed for clients that accept it.
    path("api/v1/openapi.json", gzip_page(SpectacularJSONAPIView.as_view()), name="openapi"),
    path("api/v1/docs", DocsView.as_view(url_name="openapi"), name="api-docs"),
    path("api/v1/event-types", include("webhooks.public_urls")),
    path("api/v1/tenants/<slug:slug>/", include(tenant_api)),
    # The signed signal webhook (signals_inbox.webhook): its own answer shapes, no API key.
    path(settings.SIGNALS_INTEGRATION_PREFIX.lstrip("/"), include("signals_inbox.integration_urls")),
    path("api/v1/admin/tenants/<slug:slug>/", include("signals_inbox.admin_urls")),
    path("scim/v2/tenants/<slug:slug>/", include("provisioning.urls")),
]
handler500 = "skillhub.middleware.server_error"
