"""The back office for the outbound side; every write goes through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from skillhub.errors import DomainError, ValidationFailed
from tenants.admin import TenantScopedAdmin
from webhooks import services
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


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(_ReadOnlyInline):
    model = Delivery
    fields = (
        "id",
        "event_type",
        "sequence",
        "state",
        "attempt_count",
        "next_attempt_at",
        "last_status_code",
        "created_at",
    )
    readonly_fields = fields
    ordering = ("-id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # A busy endpoint has many deliveries; its page shows the latest 50 (the list has the rest).
        queryset = super().get_queryset(request)
        endpoint_id = getattr(request, "_webhook_endpoint_id", None)
        if endpoint_id is None:
            return queryset.none()
        latest = list(queryset.filter(endpoint_id=endpoint_id).order_by("-id").values_list("id", flat=True)[:50])
        return queryset.filter(pk__in=latest)


class AttemptInline(_ReadOnlyInline):
    model = Attempt
    fields = ("number", "started_at", "status_code", "succeeded", "duration_ms", "error", "response_body")
    readonly_fields = fields
    show_change_link = False


class EndpointForm(forms.ModelForm):
    """The endpoint form; stored credentials are never rendered back into it."""

    url = forms.URLField(max_length=2048, assume_scheme="https")
    basic_auth_password = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored password.",
    )
    clear_basic_auth_password = forms.BooleanField(required=False, label="Remove the stored Basic-auth password")

    class Meta:
        model = Endpoint
        fields = ("tenant", *_EDITABLE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            # Header values may be credentials: shown masked, and a masked value sent back keeps the stored one.
            self.initial["additional_headers"] = {name: MASKED for name in (self.instance.additional_headers or {})}
            self.initial["basic_auth_password"] = ""

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
class EndpointAdmin(TenantScopedAdmin):
    form = EndpointForm
    list_display = (
        "id", "tenant", "url", "enabled", "deactivate_reason", "retry_policy", "payload_style", "sequence",
        "consecutive_failures", "circuit_open_until",
    )  # fmt: skip
    list_filter = ("tenant", "enabled", "retry_policy")
    search_fields = ("id", "url", "description")
    # The circuit breaker's state (webhooks/flow.py): shown, never edited by hand.
    readonly_fields = (
        "deactivate_reason", "sequence", "consecutive_failures", "circuit_open_until", "circuit_reason",
        "created_at", "updated_at",
    )  # fmt: skip
    inlines = [DeliveryInline]
    actions = ["ping", "rotate_secret", "re_enable"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "tenant") if obj else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []  # a new endpoint has no deliveries

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        request._webhook_endpoint_id = object_id  # type: ignore[attr-defined]  # for DeliveryInline
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        values = form.service_values()
        if change:
            services.endpoint_update(endpoint=Endpoint.objects.get(pk=obj.pk), values=values)
        else:
            created = services.endpoint_create(tenant=obj.tenant, values=values)
            obj.pk = created.pk
            messages.warning(request, f"Signing secret (copy it now, it is not shown again): {created.secret}")

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        services.endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in queryset:
            services.endpoint_delete(endpoint=endpoint)

    @admin.action(description="Ping (queue a signed webhook.ping)")
    def ping(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in queryset:
            try:
                delivery = services.endpoint_ping(endpoint=endpoint)
            except DomainError as exc:
                messages.error(request, f"{endpoint.pk}: {exc.message}")
                continue
            messages.info(request, f"{endpoint.pk}: ping queued as delivery {delivery.pk}; its outcome shows in the deliveries")

    @admin.action(description="Rotate the secret (the old one signs beside it for 24 h)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in queryset:
            rotated = services.endpoint_rotate_secret(endpoint=endpoint)
            messages.warning(request, f"{endpoint.pk}: new secret (shown once) {rotated.secret}")

    @admin.action(description="Re-enable (clears the reason, resumes pending deliveries)")
    def re_enable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in queryset:
            services.endpoint_enable(endpoint=endpoint)
        messages.success(request, f"{queryset.count()} endpoint(s) enabled")


@admin.register(Delivery)
class DeliveryAdmin(TenantScopedAdmin):
    list_display = ("id", "tenant", "endpoint", "event_type", "sequence", "state", "attempt_count", "next_attempt_at")
    list_filter = ("state", "event_type", "tenant")
    search_fields = ("id", "event__id", "endpoint__id")
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
        for delivery in queryset.select_related("endpoint"):
            try:
                services.delivery_retry(delivery=delivery)
            except DomainError as exc:
                messages.error(request, f"{delivery.pk}: {exc.message}")


@admin.register(Event)
class EventAdmin(TenantScopedAdmin):
    list_display = ("id", "type", "tenant", "created_at")
    list_filter = ("type", "tenant")
    search_fields = ("id", "subject_id")
    readonly_fields = ("id", "tenant", "type", "data", "subject_type", "subject_id", "created_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
