"""Webhook endpoints in the console: health columns, the delivery log, ping / retry / replay / re-enable / rotate."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from skillhub.console.site import console_site
from skillhub.console.secrets import secret_once_redirect
from skillhub.errors import DomainError, ValidationFailed
from webhooks import catalog, services
from webhooks.models import Endpoint
from tenants import retention
from webhooks.health import endpoint_day_chart
from webhooks.selectors import attempts_by_delivery, delivery_get, delivery_log, endpoint_health_annotations

LOG_PAGE = 50
EXCERPT = 300


def event_choices() -> list[tuple[str, str]]:
    """The catalog's events an endpoint can subscribe to, labelled with what each means."""
    return [(item.name, f"{item.name} — {item.description}") for item in catalog.EVENT_TYPES if item.fan_out]


class EventsField(forms.MultipleChoiceField):
    """The endpoint's event filter, chosen from the catalog; none chosen = every event."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=event_choices, required=False, help_text="None ticked: every event.", **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return list(value or [])

    def clean(self, value: Any) -> list[str]:
        return list(super().clean(value))


class ReplayForm(forms.Form):
    since = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"])
    event_type = forms.ChoiceField(choices=lambda: [("", "every event type"), *((name, name) for name, _ in event_choices())], required=False)


def _attempt_rows(deliveries: list[Any]) -> list[Any]:
    grouped = attempts_by_delivery(delivery_ids=[d.pk for d in deliveries])
    for delivery in deliveries:
        delivery.attempt_list = grouped.get(delivery.pk, [])
        for attempt in delivery.attempt_list:
            attempt.excerpt = (attempt.response_body or "")[:EXCERPT]
    return deliveries


class EndpointConsoleMixin(admin.ModelAdmin):
    """Health columns, the endpoint page's delivery log and its buttons, for `EndpointAdmin`."""

    change_form_template = "admin/webhooks/endpoint/change_form.html"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).annotate(**endpoint_health_annotations(now=timezone.now()))

    @admin.display(description="Health")
    def health(self, endpoint: Any) -> str:
        if not endpoint.enabled:
            return format_html('<span class="bad">Disabled</span><br><span class="muted">{}</span>', endpoint.deactivate_reason or "by hand")
        if endpoint.consecutive_failures >= settings.WEBHOOKS_BREAKER_THRESHOLD:
            # The circuit breaker (webhooks/flow.py) defers its deliveries; a probe decides when to resume.
            probe = endpoint.circuit_open_until
            when = timezone.localtime(probe).strftime("%d %b %H:%M:%S") if probe and probe > timezone.now() else "now"
            return format_html(
                '<span class="warn">Held back</span><br><span class="muted">{}; next probe {}</span>',
                endpoint.circuit_reason or "the receiver keeps failing",
                when,
            )
        if endpoint.failures_in_a_row:
            return format_html('<span class="warn">{} failure{} in a row</span>', endpoint.failures_in_a_row, "s" if endpoint.failures_in_a_row != 1 else "")
        if endpoint.last_attempt_at is None:
            return format_html('<span class="muted">{}</span>', "No attempts yet")
        return format_html('<span class="ok">{}</span>', "Healthy")

    @admin.display(description="Last attempt", ordering="last_attempt_at")
    def last_attempt(self, endpoint: Any) -> str:
        if endpoint.last_attempt_at is None:
            return "—"
        return format_html("{}<br><span class=\"muted\">HTTP {}</span>", timezone.localtime(endpoint.last_attempt_at).strftime("%d %b %H:%M"), endpoint.last_attempt_status or "—")

    @admin.display(description="Success, 24 h")
    def success_rate(self, endpoint: Any) -> str:
        if not endpoint.attempts_24h:
            return "—"
        rate = round(100 * endpoint.succeeded_24h / endpoint.attempts_24h)
        css = "ok" if rate >= 95 else ("warn" if rate >= 50 else "bad")
        return format_html('<span class="{}">{}%</span> <span class="muted">of {}</span>', css, rate, endpoint.attempts_24h)

    @admin.display(description="Failures in a row", ordering="failures_in_a_row")
    def failures(self, endpoint: Any) -> int:
        return endpoint.failures_in_a_row

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/ping/", wrap(require_POST(self.ping_view)), name="webhooks_endpoint_ping"),
            path("<path:object_id>/rotate-secret/", wrap(require_POST(self.rotate_view)), name="webhooks_endpoint_rotate"),
            path("<path:object_id>/re-enable/", wrap(require_POST(self.enable_view)), name="webhooks_endpoint_enable"),
            path("<path:object_id>/replay/", wrap(require_POST(self.replay_view)), name="webhooks_endpoint_replay"),
            path("<path:object_id>/retry/<str:delivery_id>/", wrap(require_POST(self.retry_view)), name="webhooks_endpoint_retry"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Webhook endpoints", **(extra_context or {})})

    def _endpoint(self, request: HttpRequest, object_id: str) -> Endpoint:
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            raise Http404("Not found")
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        return endpoint

    def _back(self, endpoint: Endpoint) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:webhooks_endpoint_change", args=[quote(endpoint.pk)]) + "#delivery-log")

    def ping_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        endpoint = self._endpoint(request, object_id)
        try:
            delivery = services.endpoint_ping(endpoint=endpoint)
        except DomainError as exc:
            messages.error(request, f"Ping not sent: {exc.message}")
            return self._back(endpoint)
        # The ping goes through the delivery pipeline: no web thread waits on the receiver.
        messages.success(request, f"Ping queued as delivery {delivery.pk}; its attempt appears in the delivery log below")
        self.log_change(request, endpoint, f"Queued a test ping ({delivery.pk})")
        return self._back(endpoint)

    def rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        endpoint = services.endpoint_rotate_secret(endpoint=self._endpoint(request, object_id))
        self.log_change(request, endpoint, "Rotated the signing secret")
        return self.secret_once(
            request,
            title="New signing secret",
            secret=endpoint.secret,
            note=f"The previous secret keeps signing beside it until {timezone.localtime(endpoint.previous_secret_expires_at):%Y-%m-%d %H:%M %Z}.",
            back=reverse("admin:webhooks_endpoint_change", args=[quote(endpoint.pk)]),
        )

    def enable_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        endpoint = services.endpoint_enable(endpoint=self._endpoint(request, object_id))
        self.log_change(request, endpoint, "Re-enabled")
        messages.success(request, "Endpoint enabled; its pending deliveries are on their way")
        return self._back(endpoint)

    def replay_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        endpoint = self._endpoint(request, object_id)
        form = ReplayForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Replay: give the time to replay failures from")
            return self._back(endpoint)
        since: datetime = form.cleaned_data["since"]
        kinds = [form.cleaned_data["event_type"]] if form.cleaned_data["event_type"] else None
        try:
            count = services.endpoint_replay(endpoint=endpoint, since=since, event_types=kinds)
        except (DomainError, ValidationFailed) as exc:
            messages.error(request, f"Replay: {exc.message}")
            return self._back(endpoint)
        messages.success(request, f"Replaying {count} failed deliver{'y' if count == 1 else 'ies'} since {since:%Y-%m-%d %H:%M}")
        self.log_change(request, endpoint, f"Replayed {count} failed deliveries since {since:%Y-%m-%d %H:%M}")
        return self._back(endpoint)

    def retry_view(self, request: HttpRequest, object_id: str, delivery_id: str) -> HttpResponse:
        endpoint = self._endpoint(request, object_id)
        delivery = delivery_get(tenant=endpoint.tenant, delivery_id=delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint.pk:
            raise Http404("Not found")
        try:
            services.delivery_retry(delivery=delivery)
            self.log_change(request, endpoint, f"Retried delivery {delivery.pk}")
            messages.success(request, f"{delivery.pk}: sent again from the start of the schedule")
        except DomainError as exc:
            messages.error(request, f"{delivery.pk}: {exc.message}")
        return self._back(endpoint)

    def secret_once(self, request: HttpRequest, *, title: str, secret: str, note: str, back: str) -> HttpResponse:
        return secret_once_redirect(request, title=title, secret=secret, note=note, back=back)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            raise Http404("Not found")
        log = delivery_log(
            tenant=endpoint.tenant, endpoint=endpoint, before=request.GET.get("before"), after=request.GET.get("after"), limit=LOG_PAGE
        )
        extra = {
            "endpoint": endpoint,
            "deliveries": _attempt_rows(log.rows),
            "log_older": log.older,
            "log_newer": log.newer,
            "log_paged": bool(request.GET.get("before") or request.GET.get("after")),
            "day_chart": endpoint_day_chart(endpoint_id=endpoint.pk),
            "retention_note": retention.removal_note(retention.policy_get(tenant=endpoint.tenant)),
            "replay_form": ReplayForm(initial={"since": (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}),
            "can_act": self.has_change_permission(request, endpoint),
            "is_nav_sidebar_enabled": False,
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

console_site().add_menu_link("Webhooks", "webhooks_endpoint_changelist", order=50)
