"""The back office for the outbound side; every write goes through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from skillhub.errors import DomainError, ValidationFailed
from tenants.admin import TenantScopedAdmin
from webhooks import catalog, services
from webhooks.console import EndpointConsoleMixin, EventsField
from webhooks.models import Attempt, Delivery, Endpoint, Event
from webhooks.selectors import MASKED

_EDITABLE = (
    "url",
    "events",
    "enabled",
    "description",
    "payload_style",
    "retry_policy",
    "send_secret_header",
    "basic_auth_username",
    "basic_auth_password",
    "additional_headers",
    "max_in_flight",
)


class BoundedPaginator(Paginator):
    """Counts at most COUNT_LIMIT rows: a history table's list costs the same however long it grows."""

    COUNT_LIMIT = 10_000

    @cached_property
    def count(self) -> int:
        rows: Any = self.object_list  # the admin hands it a queryset
        return rows.order_by().values("pk")[: self.COUNT_LIMIT].count()


class EventTypeFilter(admin.SimpleListFilter):
    """Filter by event type from the catalog (listing the distinct values would read the whole table)."""

    title = "event type"
    parameter_name = "event_type"
    field = "event_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(item.name, item.name) for item in catalog.EVENT_TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class EventKindFilter(EventTypeFilter):
    parameter_name = "type"
    field = "type"


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AttemptInline(_ReadOnlyInline):
    model = Attempt
    fields = ("number", "started_at", "status_code", "succeeded", "duration_ms", "error", "response_body")
    readonly_fields = fields
    show_change_link = False


class EndpointForm(forms.ModelForm):
    """The endpoint form; stored credentials are never rendered back into it."""

    url = forms.URLField(
        max_length=2048, assume_scheme="https", label="URL", widget=forms.URLInput(attrs={"class": "vURLField wide-url", "size": 90})
    )
    basic_auth_password = forms.CharField(max_length=200, required=False, widget=forms.PasswordInput(render_value=False))
    clear_basic_auth_password = forms.BooleanField(required=False, label="Remove the stored Basic-auth password")
    events = EventsField()

    class Meta:
        model = Endpoint
        fields = ("tenant", *_EDITABLE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        if not self.instance._state.adding:
            # Header values may be credentials: shown masked, and a masked value sent back keeps the stored one.
            self.initial["additional_headers"] = {name: MASKED for name in (self.instance.additional_headers or {})}
            self.initial["basic_auth_password"] = ""
            fields["basic_auth_password"].help_text = "Leave blank to keep the stored password."
        else:
            fields.pop("clear_basic_auth_password", None)  # nothing stored yet to remove

    def service_values(self) -> dict[str, Any]:
        """The cleaned values to hand to the endpoint services."""
        cleaned = self.cleaned_data
        values = {field: cleaned[field] for field in _EDITABLE if field in cleaned}
        if not self.instance._state.adding:
            if cleaned.get("clear_basic_auth_password"):
                values["basic_auth_password"] = ""
            elif not values.get("basic_auth_password"):
                values.pop("basic_auth_password", None)  # blank: keep the stored password
        return values

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            # The service's own rules (SSRF guard, catalog names, protected headers), as form errors.
            services.endpoint_clean_values(self.service_values(), creating=self.instance._state.adding)
        except ValidationFailed as exc:
            for field, reason in exc.errors.items():
                self.add_error(field if field in self.fields else None, reason)
        return cleaned


@admin.register(Endpoint)
class EndpointAdmin(EndpointConsoleMixin, TenantScopedAdmin):
    """Endpoints with their health; an endpoint's page has its delivery log and buttons (webhooks.console)."""

    form = EndpointForm
    list_per_page = 50
    list_display = ("endpoint_url", "health", "last_attempt", "success_rate", "failures", "events_summary", "retry_policy", "tenant")
    list_display_links = ("endpoint_url",)
    list_filter = ("tenant", "enabled", "retry_policy")
    search_fields = ("id", "url", "description")
    # The circuit breaker's state (webhooks/flow.py): shown, never edited by hand.
    readonly_fields = (
        "deactivate_reason", "sequence", "consecutive_failures", "circuit_open_until", "circuit_reason",
        "created_at", "updated_at",
    )  # fmt: skip
    actions = ["ping", "re_enable"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A new endpoint has no sequence or circuit state yet: those are shown on its page once it exists.
        return (*self.readonly_fields, "tenant") if obj else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return super().get_fields(request, obj)
        # Adding: what a person chooses, and no tenant to pick when they administer one tenant.
        fields = ["tenant", *_EDITABLE]
        return fields[1:] if self._only_tenant(request) is not None else fields

    def _only_tenant(self, request: HttpRequest) -> Any:
        from tenants.admin_scoping import scoped_tenants

        tenants = list(scoped_tenants(request)[:2])
        return tenants[0] if len(tenants) == 1 else None

    @admin.display(description="URL", ordering="url")
    def endpoint_url(self, endpoint: Endpoint) -> str:
        return format_html('<span class="endpoint-url">{}</span>{}', endpoint.url, format_html('<br><span class="muted">{}</span>', endpoint.description) if endpoint.description else "")

    @admin.display(description="Events")
    def events_summary(self, endpoint: Endpoint) -> str:
        events = list(endpoint.events or [])
        return "every event" if not events else ", ".join(events[:3]) + (f" +{len(events) - 3}" if len(events) > 3 else "")

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        values = form.service_values()
        if change:
            services.endpoint_update(endpoint=Endpoint.objects.get(pk=obj.pk), values=values)
        else:
            tenant = obj.tenant if obj.tenant_id else self._only_tenant(request)
            created = services.endpoint_create(tenant=tenant, values=values)
            obj.pk = created.pk
            request._new_endpoint_secret = created.secret  # type: ignore[attr-defined]  # shown once by response_add

    def response_add(self, request: HttpRequest, obj: Endpoint, post_url_continue: str | None = None) -> HttpResponse:
        secret = getattr(request, "_new_endpoint_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self.secret_once(
            request,
            title="Endpoint created: its signing secret",
            secret=secret,
            note="Receivers verify each delivery's webhook-signature with it (Standard Webhooks).",
            back=reverse("admin:webhooks_endpoint_change", args=[obj.pk]),
        )

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        services.endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in self.writable(request, queryset):
            services.endpoint_delete(endpoint=endpoint)

    @admin.action(description="Ping (queue a signed webhook.ping)")
    def ping(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in self.writable(request, queryset):
            try:
                delivery = services.endpoint_ping(endpoint=endpoint)
            except DomainError as exc:
                messages.error(request, f"{endpoint.pk}: {exc.message}")
                continue
            messages.info(request, f"{endpoint.pk}: ping queued as delivery {delivery.pk}; its outcome shows in the deliveries")

    @admin.action(description="Re-enable (clears the reason, resumes pending deliveries)")
    def re_enable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in self.writable(request, queryset):
            services.endpoint_enable(endpoint=endpoint)
        messages.success(request, f"{queryset.count()} endpoint(s) enabled")


@admin.register(Delivery)
class DeliveryAdmin(TenantScopedAdmin):
    list_display = ("id", "tenant", "endpoint", "event_type", "sequence", "state", "attempt_count", "next_attempt_at")
    list_filter = ("state", EventTypeFilter, "tenant")
    search_fields = ("=id", "=event__id", "=endpoint__id")
    paginator = BoundedPaginator
    ordering = ("-id",)
    readonly_fields = [field.name for field in Delivery._meta.fields if field.name != "claim_token"]
    exclude = ("claim_token",)
    inlines = [AttemptInline]
    actions = ["retry"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Retry (send again from the start of the schedule)")
    def retry(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for delivery in self.writable(request, queryset).select_related("endpoint"):
            try:
                services.delivery_retry(delivery=delivery)
            except DomainError as exc:
                messages.error(request, f"{delivery.pk}: {exc.message}")


@admin.register(Event)
class EventAdmin(TenantScopedAdmin):
    list_display = ("id", "type", "tenant", "created_at")
    list_filter = (EventKindFilter, "tenant")
    search_fields = ("=id", "=subject_id")
    paginator = BoundedPaginator
    ordering = ("-id",)
    readonly_fields = ("id", "tenant", "type", "data", "subject_type", "subject_id", "created_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
