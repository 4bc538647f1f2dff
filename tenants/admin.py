"""The back office for tenants and their credentials; writes go through the services."""
from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from tenants.admin_scoping import TenantScopedAdmin
from tenants.models import ApiKey, Group, SignalSecret, Site, Tenant, TenantMembership
from tenants.services import api_key_create, api_key_revoke, signal_secret_issue, signal_secrets_delete


__all__ = ["TenantScopedAdmin"]


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    """A console user sees and edits only the tenants they administer; creating and deleting is for superusers."""

    tenant_field = "pk"
    list_display = ("slug", "name", "plan", "id", "created_at")
    search_fields = ("slug", "name")
    list_filter = ("plan",)
    readonly_fields = ("id", "created_at")
    actions = ["issue_signal_secret"]

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None):  # noqa: ANN201
        if request.user.is_superuser:
            return self.readonly_fields
        # Plan and limits are what the tenant pays for: only an operator changes them.
        return (*self.readonly_fields, "slug", "plan", "rate_limit_per_minute", "rate_limit_per_day")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return request.user.is_superuser

    @admin.action(description="Issue a new signal secret (the old one stays valid 24 h)", permissions=["change"])
    def issue_signal_secret(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        for tenant in self.writable(request, queryset):
            secret = signal_secret_issue(tenant=tenant)
            messages.success(request, f"{tenant.slug}: new signal secret {secret.secret} (shown once)")


@admin.register(Site)
class SiteAdmin(TenantScopedAdmin):
    list_display = ("name", "tenant", "created_at")
    list_filter = ("tenant",)
    search_fields = ("name",)


@admin.register(Group)
class GroupAdmin(TenantScopedAdmin):
    list_display = ("name", "tenant", "created_at")
    list_filter = ("tenant",)
    search_fields = ("name",)


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ("name", "tenant", "prefix", "role", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("tenant", "role")
    fields = ("tenant", "name", "role", "scopes", "expires_at", "prefix", "revoked_at", "last_used_at", "created_at")
    readonly_fields = ("prefix", "revoked_at", "last_used_at", "created_at")
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:  # noqa: ANN001
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_create(
            tenant=obj.tenant, name=obj.name, role=obj.role, scopes=list(obj.scopes or []), expires_at=obj.expires_at
        )
        obj.pk = issued.api_key.pk
        messages.warning(request, f"New API key (copy it now, it is not shown again): {issued.raw_key}")

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        for api_key in self.writable(request, queryset):
            api_key_revoke(api_key=api_key)


@admin.register(SignalSecret)
class SignalSecretAdmin(TenantScopedAdmin):
    list_display = ("tenant", "prefix", "created_at", "valid_until")
    list_filter = ("tenant",)
    fields = ("tenant", "prefix", "created_at", "valid_until")
    readonly_fields = ("prefix", "created_at", "valid_until")

    def save_model(self, request: HttpRequest, obj: SignalSecret, form, change: bool) -> None:  # noqa: ANN001
        if change:
            return
        secret = signal_secret_issue(tenant=obj.tenant)
        obj.pk = secret.pk
        messages.warning(request, f"New signal secret (copy it now, it is not shown again): {secret.secret}")

    def delete_model(self, request: HttpRequest, obj: SignalSecret) -> None:
        signal_secrets_delete(signal_secrets=[obj])

    def delete_queryset(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        signal_secrets_delete(signal_secrets=queryset.select_related("tenant"))


@admin.register(TenantMembership)
class TenantMembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("tenant", "role")
