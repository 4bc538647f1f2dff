"""The back office for tenants and their credentials; writes go through the services."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from skillhub.console.site import console_site
from skillhub.console.secrets import secret_once_redirect
from tenants.admin_scoping import TenantScopedAdmin
from tenants.models import (
    SCOPES,
    ApiKey,
    AuditEvent,
    Group,
    RetentionPolicy,
    SignalSecret,
    Site,
    StaffToken,
    Tenant,
    TenantMembership,
)
from tenants.retention import policy_update, removal_note
from tenants.services import api_key_create, api_key_revoke, signal_secret_issue, signal_secrets_delete, staff_token_create


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

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        if request.user.is_superuser:
            return self.readonly_fields
        # Plan and limits are what the tenant pays for: only an operator changes them.
        return (*self.readonly_fields, "slug", "plan", "rate_limit_per_minute", "rate_limit_per_day")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return request.user.is_superuser

    @admin.action(description="Issue a new signal secret (the old one stays valid 24 h)", permissions=["change"])
    def issue_signal_secret(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        tenants = list(self.writable(request, queryset)[:2])
        if len(tenants) != 1:
            # A secret is shown once on its own page: one tenant at a time, so none is issued unseen.
            messages.error(request, "Choose one tenant: its new signal secret is shown once, on its own page")
            return None
        secret = signal_secret_issue(tenant=tenants[0])
        return secret_once_redirect(
            request,
            title=f"New signal secret for {tenants[0].slug}",
            secret=secret.secret,
            note="The previous secret keeps verifying for 24 hours.",
            back=reverse("admin:tenants_signalsecret_changelist"),
        )


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


class ApiKeyForm(forms.ModelForm):
    """An API key's name, role, scopes (ticked from the list) and optional expiry."""

    scopes = forms.MultipleChoiceField(choices=[(scope, scope) for scope in SCOPES], widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = ApiKey
        fields = ("tenant", "name", "role", "scopes", "expires_at")


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    """API keys listed by their visible prefix with their last use; a new key is shown once, then only its hash is kept."""

    form = ApiKeyForm
    list_display = ("prefix_code", "name", "role", "scope_summary", "last_used_at", "expires_at", "state", "tenant")
    list_display_links = ("prefix_code", "name")
    list_filter = ("tenant", "role")
    search_fields = ("prefix", "name")
    fields = ("tenant", "name", "role", "scopes", "expires_at", "prefix", "revoked_at", "last_used_at", "created_by_label", "created_at")
    readonly_fields = ("prefix", "revoked_at", "last_used_at", "created_by_label", "created_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        # A key's power is fixed when it is issued: issue a new one rather than widen an old one.
        return (*self.readonly_fields, "tenant", "role", "scopes") if obj else self.readonly_fields

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "API keys", **(extra_context or {})})

    @admin.display(description="Key", ordering="prefix")
    def prefix_code(self, api_key: ApiKey) -> str:
        return format_html("<code>{}…</code>", api_key.prefix)

    @admin.display(description="Scopes")
    def scope_summary(self, api_key: ApiKey) -> str:
        scopes = list(api_key.scopes or [])
        return ", ".join(scopes[:4]) + (f" +{len(scopes) - 4}" if len(scopes) > 4 else "") if scopes else "—"

    @admin.display(description="State")
    def state(self, api_key: ApiKey) -> str:
        if api_key.revoked_at:
            return format_html('<span class="bad">revoked {}</span>', api_key.revoked_at.strftime("%Y-%m-%d"))
        if api_key.expires_at and api_key.expires_at <= timezone.now():
            return format_html('<span class="warn">{}</span>', "expired")
        return format_html('<span class="ok">{}</span>', "active")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_create(
            tenant=obj.tenant,
            name=obj.name,
            role=obj.role,
            scopes=list(form.cleaned_data.get("scopes") or []),
            expires_at=obj.expires_at,
            created_by_ref=f"user:{request.user.pk}",
            created_by_label=f"user:{request.user.get_username()}",
        )
        obj.pk = issued.api_key.pk
        request._new_api_key = issued.raw_key  # type: ignore[attr-defined]  # shown once by response_add

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None) -> HttpResponse:
        raw = getattr(request, "_new_api_key", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        return secret_once_redirect(
            request,
            title=f"API key “{obj.name}” created",
            secret=raw,
            note=f"Send it as Authorization: Bearer …; from now on it is listed by its prefix {raw[:12]}…",
            back=reverse("admin:tenants_apikey_changelist"),
        )

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        revoked = 0
        for api_key in self.writable(request, queryset):
            api_key_revoke(api_key=api_key)
            revoked += 1
        messages.success(request, f"{revoked} key(s) revoked; they stop working on the next request")


@admin.register(SignalSecret)
class SignalSecretAdmin(TenantScopedAdmin):
    """Signal secrets: issue (or rotate) one, shown once; the one it replaces keeps verifying for 24 hours."""

    list_display = ("prefix_code", "state", "created_at", "valid_until", "tenant")
    list_filter = ("tenant",)
    fields = ("tenant", "prefix", "created_at", "valid_until")
    readonly_fields = ("prefix", "created_at", "valid_until")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Signal secrets", **(extra_context or {})})

    @admin.display(description="Secret", ordering="prefix")
    def prefix_code(self, secret: SignalSecret) -> str:
        return format_html("<code>sig_{}…</code>", secret.prefix)

    @admin.display(description="State", ordering="valid_until")
    def state(self, secret: SignalSecret) -> str:
        if secret.valid_until is None:
            return format_html('<span class="ok">{}</span>', "current")
        left = secret.valid_until - timezone.now()
        if left.total_seconds() <= 0:
            return format_html('<span class="muted">{}</span>', "expired")
        hours, minutes = divmod(int(left.total_seconds()) // 60, 60)
        return format_html('<span class="warn">previous: valid {} h {} min more</span>', hours, minutes)

    def save_model(self, request: HttpRequest, obj: SignalSecret, form: Any, change: bool) -> None:
        if change:
            return
        secret = signal_secret_issue(tenant=obj.tenant)
        obj.pk = secret.pk
        request._new_signal_secret = secret  # type: ignore[attr-defined]  # shown once by response_add

    def response_add(self, request: HttpRequest, obj: SignalSecret, post_url_continue: str | None = None) -> HttpResponse:
        secret = getattr(request, "_new_signal_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        previous = SignalSecret.objects.filter(tenant=secret.tenant, valid_until__gt=timezone.now()).order_by("-valid_until").first()
        note = (
            f"The previous secret (sig_{previous.prefix}…) keeps verifying until {timezone.localtime(previous.valid_until):%Y-%m-%d %H:%M %Z}."
            if previous
            else "Sign each signal body with it: X-Skillhub-Signature = hex HMAC-SHA256 of the raw body."
        )
        return secret_once_redirect(
            request, title=f"New signal secret for {secret.tenant.slug}", secret=secret.secret, note=note, back=reverse("admin:tenants_signalsecret_changelist")
        )

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
    """Tokens for the admin API, minted only for oneself; the raw token is shown once, at creation."""

    list_display = ("name", "user", "prefix", "created_at", "revoked_at")
    fields = ("name", "user", "prefix", "revoked_at", "created_at")
    readonly_fields = ("user", "prefix", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> HttpResponse:
        raise Http404("Not found")

    def save_model(self, request: HttpRequest, obj: StaffToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A token acts as its owner with the owner's tenant scope, so nobody mints one for someone else.
        try:
            token, raw = staff_token_create(user=request.user, name=obj.name)
        except ValueError as exc:
            messages.error(request, str(exc))
            return
        obj.pk = token.pk
        obj.user = request.user  # type: ignore[assignment]  # the console login is a saved user
        request._new_staff_token = raw  # type: ignore[attr-defined]  # shown once by response_add

    def response_add(self, request: HttpRequest, obj: StaffToken, post_url_continue: str | None = None) -> HttpResponse:
        raw = getattr(request, "_new_staff_token", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        return secret_once_redirect(
            request,
            title=f"Staff token “{obj.name}” created",
            secret=raw,
            note="Send it as Authorization: Bearer … to /api/v1/admin/…; it acts as you, within your tenants.",
            back=reverse("admin:tenants_stafftoken_changelist"),
        )


console_site().add_menu_link("API keys", "tenants_apikey_changelist", order=60)
console_site().add_menu_link("Signal secrets", "tenants_signalsecret_changelist", order=70)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(TenantScopedAdmin):
    """How long each tenant's history is kept; the retention sweep removes what has expired."""

    list_display = ("tenant", "attempts_days", "deliveries_days", "signals_days", "audit_days", "removed")
    fields = ("tenant", "attempts_days", "deliveries_days", "signals_days", "audit_days", "removed")
    readonly_fields = ("removed",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("tenant", "removed") if obj else ("removed",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Removed so far")
    def removed(self, policy: RetentionPolicy) -> str:
        return removal_note(policy, kinds=("attempts", "deliveries", "signals", "audit")) or "nothing yet"

    def save_model(self, request: HttpRequest, obj: RetentionPolicy, form: Any, change: bool) -> None:
        values = {field: form.cleaned_data[field] for field in ("attempts_days", "deliveries_days", "signals_days", "audit_days")}
        policy_update(tenant=obj.tenant, values=values)


console_site().add_menu_link("Retention", "tenants_retentionpolicy_changelist", order=80)


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin):
    """The audit log: every write through the API, SCIM, the console and operator commands; read-only."""

    list_display = ("created_at", "actor", "action", "target", "changed", "tenant")
    list_filter = ("tenant", "actor_kind", "object_type", "action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=object_id", "=actor")
    date_hierarchy = None
    show_full_result_count = False
    ordering = ("-id",)
    fields = ("created_at", "tenant", "actor", "actor_kind", "object_type", "object_id", "action", "changed_fields", "details")
    readonly_fields = fields

    @admin.display(description="object")
    def target(self, event: AuditEvent) -> str:
        short = event.object_id if len(event.object_id) <= 12 else event.object_id[:8] + "…"
        return format_html('{} <code title="{}">{}</code>', event.object_type, event.object_id, short)

    @admin.display(description="changed fields")
    def changed(self, event: AuditEvent) -> str:
        names = list(event.changed_fields or [])
        return ", ".join(names[:5]) + (f" +{len(names) - 5}" if len(names) > 5 else "")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
