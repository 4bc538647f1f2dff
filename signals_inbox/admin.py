"""The back office for the signal inbox: signals, the signal map, rejected signals, the audit trail.

The Training needs inbox itself (Offer / Author / Dismiss) is in `signals_inbox.console`.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from signals_inbox import console, console_pages  # noqa: F401  (register the inbox and its pages)
from signals_inbox.models import AuditEntry, InboxSettings, RejectedSignal, Signal, SignalMapEntry
from signals_inbox.services import rejected_signal_reprocess, signal_map_put, signal_signing_put
from skillhub.errors import DomainError
from tenants import audit
from tenants.admin import TenantScopedAdmin


class SignalResolutionFilter(admin.SimpleListFilter):
    """Waiting signals are the resolution backlog; those with a retry time failed once and are retried alone."""

    title = "resolution"
    parameter_name = "resolution"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("waiting", "Waiting (backlog)"), ("retrying", "Failed, retried on its own"), ("resolved", "Resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Signal]) -> QuerySet[Signal]:
        if self.value() == "waiting":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "retrying":
            return queryset.filter(resolved_at__isnull=True, retry_at__isnull=False)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Signal)
class SignalAdmin(TenantScopedAdmin):
    list_display = ("id", "type", "tenant", "need", "deduped", "received_at", "resolved_at", "retry_at")
    list_filter = (SignalResolutionFilter, "tenant", "type", "deduped")
    search_fields = ("id",)
    readonly_fields = ("id", "tenant", "need", "deduped", "event", "type", "data", "received_at", "resolved_at", "retry_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Signal | None = None) -> bool:
        return False


class SignalMapEntryInline(admin.TabularInline):
    model = SignalMapEntry
    fields = ("type", "topic", "category", "severity")
    extra = 1


@admin.register(InboxSettings)
class InboxSettingsAdmin(TenantScopedAdmin):
    """Training needs → automation & signal mapping: the map and auto-author, saved through the service."""

    list_display = ("tenant", "auto_author", "auto_author_threshold", "authoring_quota_monthly", "require_timestamped_signatures", "updated_at")
    fields = ("tenant", "auto_author", "auto_author_threshold", "authoring_quota_monthly", "require_timestamped_signatures")
    inlines = [SignalMapEntryInline]

    def get_readonly_fields(self, request: HttpRequest, obj: InboxSettings | None = None) -> Any:
        return ("tenant",) if obj else ()

    def save_model(self, request: HttpRequest, obj: InboxSettings, form: Any, change: bool) -> None:
        # The map is saved with the inlines in save_related, through the one service.
        if not change:
            obj.save()

    def construct_change_message(self, request: HttpRequest, form: Any, formsets: Any, add: bool = False) -> list:
        # The inline rows are written by the service, not by the formsets, so describe the change plainly.
        return [{"added" if add else "changed": {"fields": ["signal map", *form.changed_data]}}]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        mapping = {}
        for formset in formsets:
            for entry_form in formset.forms:
                data = getattr(entry_form, "cleaned_data", None)
                if not data or data.get("DELETE") or not data.get("type"):
                    continue
                mapping[data["type"]] = {
                    key: data[key] for key in ("topic", "category", "severity") if data.get(key) not in (None, "")
                }
        try:
            signal_map_put(
                tenant=form.instance.tenant,
                actor=audit.current_label(),
                mapping=mapping,
                auto_author=form.cleaned_data["auto_author"],
                auto_author_threshold=form.cleaned_data["auto_author_threshold"],
                authoring_quota_monthly=form.cleaned_data["authoring_quota_monthly"],
            )
        except DomainError as exc:
            messages.error(request, f"Signal map not saved: {exc.field}: {exc.reason}")
            return
        signal_signing_put(
            tenant=form.instance.tenant,
            actor=audit.current_label(),
            require_timestamped_signatures=form.cleaned_data["require_timestamped_signatures"],
        )


@admin.register(RejectedSignal)
class RejectedSignalAdmin(TenantScopedAdmin):
    """Authenticated signals that failed validation: fix the map (or the body), then reprocess."""

    list_display = ("id", "tenant", "reason", "received_at", "reprocessed_at", "reprocessed_signal_id")
    list_filter = ("tenant",)
    fields = ("tenant", "reason", "body", "received_at", "reprocessed_at", "reprocessed_signal_id")
    readonly_fields = ("tenant", "reason", "received_at", "reprocessed_at", "reprocessed_signal_id")
    actions = ["reprocess"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Reprocess (after fixing the signal map or the body)")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for rejected in self.writable(request, queryset).select_related("tenant"):
            try:
                result = rejected_signal_reprocess(rejected=rejected, actor=audit.current_label())
                messages.success(request, f"#{rejected.pk} accepted as {result.signal_id}")
            except DomainError as exc:
                messages.error(request, f"#{rejected.pk}: {exc.message}")


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantScopedAdmin):
    list_display = ("created_at", "tenant", "actor", "action", "need")
    list_filter = ("tenant", "action")
    readonly_fields = ("tenant", "need", "actor", "action", "details", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
