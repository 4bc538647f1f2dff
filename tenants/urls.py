"""Tenant administration routes under /api/v1/tenants/{slug}/: the audit log, keys, groups and sites."""
from __future__ import annotations

from django.urls import path

from tenants.api import audit, keys

urlpatterns = [
    path("audit-events", audit.AuditEventListApi.as_view(), name="audit-event-list"),
    path("api-keys", keys.ApiKeyListCreateApi.as_view(), name="api-key-list"),
    path("api-keys/<str:key_id>", keys.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("api-keys/<str:key_id>/rotate", keys.ApiKeyRotateApi.as_view(), name="api-key-rotate"),
]
