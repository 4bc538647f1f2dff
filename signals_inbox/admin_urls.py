"""Admin API routes under /api/v1/admin/tenants/{slug}/ (console session or staff token)."""
from __future__ import annotations

from django.urls import path

from signals_inbox import admin_api

urlpatterns = [
    path("signal-map", admin_api.SignalMapApi.as_view(), name="admin-signal-map"),
    path("signal-map/preview", admin_api.SignalMapPreviewApi.as_view(), name="admin-signal-map-preview"),
    path("signal-signing", admin_api.SignalSigningApi.as_view(), name="admin-signal-signing"),
]
