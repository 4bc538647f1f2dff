"""The back office for the outbound side."""
from __future__ import annotations

from django.contrib import admin

from tenants.admin import TenantScopedAdmin
from webhooks.models import Event


@admin.register(Event)
class EventAdmin(TenantScopedAdmin):
    list_display = ("id", "type", "tenant", "created_at")
    list_filter = ("type", "tenant")
    search_fields = ("id", "subject_id")
    readonly_fields = ("id", "tenant", "type", "data", "subject_type", "subject_id", "created_at")

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
