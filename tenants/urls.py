"""Tenant administration routes under /api/v1/tenants/{slug}/: the audit log, keys, groups and sites."""
from __future__ import annotations

from django.urls import path

from tenants.api import audit

urlpatterns = [
    path("audit-events", audit.AuditEventListApi.as_view(), name="audit-event-list"),
]
