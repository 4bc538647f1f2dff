"""Webhook endpoints in the console: health columns, the delivery log, ping / retry / replay / re-enable / rotate."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from skillhub.console.site import console_site
from skillhub.console.secrets import secret_once_redirect
from skillhub.errors import DomainError, ValidationFailed
from webhooks import catalog, services
from webhooks.models import Endpoint
from webhooks.selectors import MASKED
from tenants import retention
from webhooks.health import endpoint_day_chart
from webhooks.models import Attempt, Delivery, DeliveryState
from webhooks.selectors import (
    LOG_STATUSES,
    is_id,
    LogFilter,
    attempts_by_delivery,
    delivery_get,
    delivery_log,
    endpoint_health_annotations,
)

LOG_PAGE = 50
EXCERPT = 300


def _described(text: str) -> str:
    """A catalog description with its `code` spans as <code> (the catalog is written in Markdown)."""
    parts = text.split("`")
    return format_html_join("", "{}", ((format_html("<code>{}</code>", part) if index % 2 else part,) for index, part in enumerate(parts)))


def event_choices() -> list[tuple[str, Any]]:
    """The catalog's events an endpoint can subscribe to, labelled with what each means."""
    return [(item.name, format_html("{} — {}", item.name, _described(item.description))) for item in catalog.EVENT_TYPES if item.fan_out]


class EventsField(forms.MultipleChoiceField):
    """The endpoint's event filter, chosen from the catalog; none chosen = every event."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=event_choices, required=False, help_text="None ticked: every event.", **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return list(value or [])

    def clean(self, value: Any) -> list[str]:
        return list(super().clean(value))


class LogFilterForm(forms.Form):
    """The delivery log's filters, as the Svix and Stripe portals offer them."""

    status = forms.ChoiceField(required=False, choices=[("", "any status"), *((s, s) for s in LOG_STATUSES)])
    event_type = forms.ChoiceField(required=False, choices=lambda: [("", "any event type"), ("webhook.ping", "webhook.ping"), *((n, n) for n, _ in event_choices())])
    since = forms.DateField(required=False, label="from", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="to", widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(required=False, label="event or delivery id", max_length=60, widget=forms.TextInput(attrs={"placeholder": "evt_… or dlv_…", "size": 38}))

    def log_filter(self) -> LogFilter:
        if not self.is_valid():
            return LogFilter(search="\x00invalid")  # a bad filter shows nothing rather than everything
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        since = datetime.combine(data["since"], datetime.min.time(), zone) if data.get("since") else None
        until = datetime.combine(data["until"] + timedelta(days=1), datetime.min.time(), zone) if data.get("until") else None
        return LogFilter(status=data.get("status") or "", event_type=data.get("event_type") or "", since=since, until=until, search=data.get("q") or "")


class TestEventForm(forms.Form):
    event_type = forms.ChoiceField(label="Send a test event of type", choices=lambda: [(n, n) for n, _ in event_choices()])


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


# Request headers whose values are credentials: shown masked on the attempt page.
_SECRET_HEADERS = {"webhook-signature", "x-webhook-secret", "authorization", "x-skillhub-signature"}


def attempt_request(*, delivery: Delivery, attempt: Attempt) -> tuple[list[tuple[str, str]], str]:
    """Return the headers (credentials masked) and the body of an attempt's POST, as the pipeline builds them.

    The body is the event rendered in the endpoint's payload style (the same bytes every time); the
    timestamp is the attempt's own, and signatures, the secret header, Basic auth and the
    endpoint's own header values are masked, never shown.
    """
    from webhooks.engine import payloads

    endpoint = delivery.endpoint
    event = delivery.event
    body = payloads.render_body(event, style=endpoint.payload_style, tenant_slug=endpoint.tenant.slug)
    headers = payloads.request_headers(delivery=delivery, endpoint=endpoint, event=event, body=body)
    own = {name.lower() for name in (endpoint.additional_headers or {})}
    shown = []
    for name, value in headers.items():
        if name.lower() == "webhook-timestamp":
            value = str(int(attempt.started_at.timestamp()))
        elif name.lower() in _SECRET_HEADERS:
            value = (value.split(",", 1)[0] + "," + MASKED) if name.lower() == "webhook-signature" else MASKED
        elif name.lower() in own:
            value = MASKED
        shown.append((name, value))
    if endpoint.basic_auth_username or endpoint.basic_auth_password:
        shown.append(("Authorization", f"Basic {MASKED}"))
    try:
        pretty = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        pretty = body.decode("utf-8", "replace")
    return sorted(shown, key=lambda item: item[0].lower()), pretty


def endpoint_key(object_id: str) -> str:
    """The endpoint id in a console URL: its public id (`we_…`), or the admin's quoted form of it."""
    return object_id if is_id(object_id, "we") else unquote(object_id)


class EndpointChangeList(ChangeList):
    def url_for_result(self, result: Any) -> str:
        # The endpoint's public id, as the API and the receiver's logs show it (not the admin's `we_5F…` quoting).
        return reverse("admin:webhooks_endpoint_change", args=[result.pk], current_app=self.model_admin.admin_site.name)


class EndpointConsoleMixin(admin.ModelAdmin):
    """Health columns, the endpoint page's delivery log and its buttons, for `EndpointAdmin`."""

    change_form_template = "admin/webhooks/endpoint/change_form.html"

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return EndpointChangeList

    def _by_public_id(self, view: Any) -> Any:
        """Wrap a stock admin view so a URL with the public id (`we_…`) reaches it as the admin expects."""

        def wrapped(request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
            return view(request, quote(object_id) if is_id(object_id, "we") else object_id, *args, **kwargs)

        return wrapped

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
            path("<path:object_id>/send-test/", wrap(require_POST(self.send_test_view)), name="webhooks_endpoint_send_test"),
            path("<path:object_id>/deliveries/<str:delivery_id>/", wrap(self.delivery_view), name="webhooks_endpoint_delivery"),
            path("<path:object_id>/change/", wrap(self._by_public_id(self.change_view)), name="webhooks_endpoint_change"),
            path("<path:object_id>/history/", wrap(self._by_public_id(self.history_view)), name="webhooks_endpoint_history"),
            path("<path:object_id>/delete/", wrap(self._by_public_id(self.delete_view)), name="webhooks_endpoint_delete"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Webhook endpoints", **(extra_context or {})})

    def _endpoint(self, request: HttpRequest, object_id: str) -> Endpoint:
        endpoint = self.get_object(request, endpoint_key(object_id))
        if endpoint is None:
            raise Http404("Not found")
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        return endpoint

    def _back(self, endpoint: Endpoint) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]) + "#delivery-log")

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
            back=reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]),
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
        waiting = Delivery.objects.filter(endpoint=endpoint, created_at__gte=since, state=DeliveryState.PENDING, attempt_count__gt=0, is_ping=False)
        if kinds:
            waiting = waiting.filter(event_type__in=kinds)
        try:
            count = services.endpoint_replay(endpoint=endpoint, since=since, event_types=kinds)
            resent = 0
            if request.POST.get("include_waiting"):
                # Failed once and waiting for their automatic retry: sent now instead, from the start of the schedule.
                for delivery in waiting.select_related("endpoint")[:1000]:
                    services.delivery_retry(delivery=delivery)
                    resent += 1
        except (DomainError, ValidationFailed) as exc:
            messages.error(request, f"Replay: {exc.message}")
            return self._back(endpoint)
        when = timezone.localtime(since).strftime("%Y-%m-%d %H:%M %Z")
        text = f"Replaying {count} failed deliver{'y' if count == 1 else 'ies'} since {when}"
        if resent:
            text += f", and sending {resent} that {'was' if resent == 1 else 'were'} waiting for a retry now"
        else:
            still = waiting.count()
            if still:
                # Not failed (yet): their retry is already scheduled, so a replay leaves them be; say so, and offer them.
                text += (
                    f". Not included: {still} deliver{'y' if still == 1 else 'ies'} that failed and {'is' if still == 1 else 'are'} "
                    "waiting for an automatic retry (tick “also send those waiting for a retry” to send them now)"
                )
        messages.success(request, text)
        self.log_change(request, endpoint, text)
        return self._back(endpoint)

    def send_test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        endpoint = self._endpoint(request, object_id)
        form = TestEventForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Test event: choose an event type from the catalog")
            return self._back(endpoint)
        try:
            delivery = services.endpoint_send_test(endpoint=endpoint, event_type=form.cleaned_data["event_type"])
        except DomainError as exc:
            messages.error(request, f"Test event not sent: {exc.message}")
            return self._back(endpoint)
        self.log_change(request, endpoint, f"Queued a test {delivery.event_type} ({delivery.pk})")
        url = reverse("admin:webhooks_endpoint_delivery", args=[endpoint.pk, delivery.pk])
        messages.success(request, format_html('Test {} queued as delivery <a href="{}">{}</a>; its attempt appears in the delivery log below', delivery.event_type, url, delivery.pk))
        return self._back(endpoint)

    def delivery_view(self, request: HttpRequest, object_id: str, delivery_id: str) -> HttpResponse:
        """One delivery: its event, and each attempt's request (as sent, secrets masked) and response."""
        endpoint = self.get_object(request, endpoint_key(object_id))
        if endpoint is None:
            raise Http404("Not found")
        delivery = delivery_get(tenant=endpoint.tenant, delivery_id=delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint.pk:
            raise Http404("Not found")
        delivery = Delivery.objects.select_related("endpoint__tenant", "event").get(pk=delivery.pk)
        attempts = attempts_by_delivery(delivery_ids=[delivery.pk]).get(delivery.pk, [])
        headers, body = attempt_request(delivery=delivery, attempt=attempts[-1]) if attempts else attempt_request(delivery=delivery, attempt=Attempt(started_at=timezone.now()))
        rows = []
        for attempt in attempts:
            sent_headers, _ = attempt_request(delivery=delivery, attempt=attempt)
            rows.append({"attempt": attempt, "headers": sent_headers})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Delivery {delivery.pk}",
            "endpoint": endpoint,
            "delivery": delivery,
            "attempts": rows,
            "body": body,
            "request_headers": headers,
            "can_act": self.has_change_permission(request, endpoint),
            "log_url": reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]) + "#delivery-log",
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/webhooks/endpoint/delivery.html", context)

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
        endpoint = self.get_object(request, endpoint_key(object_id))
        if endpoint is None:
            raise Http404("Not found")
        filter_form = LogFilterForm(request.GET or None)
        filters = filter_form.log_filter() if request.GET else LogFilter()
        log = delivery_log(
            tenant=endpoint.tenant, endpoint=endpoint, before=request.GET.get("before"), after=request.GET.get("after"), limit=LOG_PAGE, filters=filters
        )
        kept: dict[str, str] = {key: str(value) for key, value in request.GET.items() if key in LogFilterForm.base_fields and value}
        extra = {
            "endpoint": endpoint,
            "deliveries": _attempt_rows(log.rows),
            "log_older": log.older,
            "log_newer": log.newer,
            "log_paged": bool(request.GET.get("before") or request.GET.get("after")),
            "log_query": urlencode(kept),
            "log_filtered": bool(kept),
            "filter_form": filter_form if request.GET else LogFilterForm(),
            "test_form": TestEventForm(),
            "day_chart": endpoint_day_chart(endpoint_id=endpoint.pk),
            "retention_note": retention.removal_note(retention.policy_get(tenant=endpoint.tenant)),
            "replay_form": ReplayForm(initial={"since": (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}),
            "can_act": self.has_change_permission(request, endpoint),
            "is_nav_sidebar_enabled": False,
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

console_site().add_menu_link("Webhooks", "webhooks_endpoint_changelist", order=50)
