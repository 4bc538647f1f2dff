"""The retention route under /api/v1/tenants/{slug}/."""

from __future__ import annotations

from django.urls import path

from tenants.api.retention import RetentionApi

urlpatterns = [path("retention", RetentionApi.as_view(), name="tenant-retention")]
