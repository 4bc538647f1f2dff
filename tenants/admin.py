"""The back office for tenants and their credentials; writes go through the services."""
from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.models import ApiKey, Group, SignalSecret, Site, StaffToken, Tenant, TenantMembership
from tenants.services import api_key_create, api_key_revoke, signal_secret_issue, signal_secrets_delete, staff_token_create


class TenantScopedAdmin(admin.ModelAdmin):
    """Show staff only the rows of tenants they administer."""

    tenant_field = "tenant"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.tenant_field}__memberships__user_id": request.user.pk})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "tenant" and not request.user.is_superuser:
            kwargs["queryset"] = Tenant.objects.filter(memberships__user_id=cast(int, request.user.pk))  # admin users are saved users
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "plan", "id", "created_at")
    search_fields = ("slug", "name")
    list_filter = ("plan",)
    readonly_fields = ("id", "created_at")
    actions = ["issue_signal_secret"]

    @admin.action(description="Issue a new signal secret (the old one stays valid 24 h)")
    def issue_signal_secret(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for tenant in queryset:
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

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_create(
            tenant=obj.tenant, name=obj.name, role=obj.role, scopes=list(obj.scopes or []), expires_at=obj.expires_at
        )
        obj.pk = issued.api_key.pk
        messages.warning(request, f"New API key (copy it now, it is not shown again): {issued.raw_key}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)


@admin.register(SignalSecret)
class SignalSecretAdmin(TenantScopedAdmin):
    list_display = ("tenant", "prefix", "created_at", "valid_until")
    list_filter = ("tenant",)
    fields = ("tenant", "prefix", "created_at", "valid_until")
    readonly_fields = ("prefix", "created_at", "valid_until")

    def save_model(self, request: HttpRequest, obj: SignalSecret, form: Any, change: bool) -> None:
        if change:
            return
        secret = signal_secret_issue(tenant=obj.tenant)
        obj.pk = secret.pk
        messages.warning(request, f"New signal secret (copy it now, it is not shown again): {secret.secret}")

    def delete_model(self, request: HttpRequest, obj: SignalSecret) -> None:
        signal_secrets_delete(signal_secrets=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        signal_secrets_delete(signal_secrets=queryset.select_related("tenant"))


@admin.register(TenantMembership)
class TenantMembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("tenant", "role")


@admin.register(StaffToken)
class StaffTokenAdmin(admin.ModelAdmin):
    """Tokens for the admin API; the raw token is shown once, at creation."""

    list_display = ("name", "user", "prefix", "created_at", "revoked_at")
    fields = ("user", "name", "prefix", "revoked_at", "created_at")
    readonly_fields = ("prefix", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def save_model(self, request: HttpRequest, obj: StaffToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            token, raw = staff_token_create(user=obj.user, name=obj.name)
        except ValueError as exc:
            messages.error(request, str(exc))
            return
        obj.pk = token.pk
        messages.warning(request, f"New staff token (copy it now, it is not shown again): {raw}")
