"""Console pages of the signal inbox beside the need list: readiness, unmatched and rejected signals, the signal map."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from learning.models import OnboardingStep
from learning.selectors import learner_get
from learning.evidence.services import onboarding_complete
from signals_inbox.console import SEVERITY_LABELS, actor
from signals_inbox.models import ACTIVE_NEED_STATUSES, AuditEntry, Need, RejectedSignal, Target
from signals_inbox.selectors import readiness_for_learners, readiness_learners, readiness_site_summary, signal_map_json
from signals_inbox.services import rejected_signal_reprocess, signal_map_preview, signal_map_put
from signals_inbox.trends import need_days_chart
from tenants.console import ConsoleTenant, console_tenant
from skillhub.console.site import console_site
from skillhub.errors import DomainError, ValidationFailed
from tenants.models import Site

PAGE_SIZE = 100
CHUNK = 500
REASONS = [
    ("not_ready", "Not ready (any blocking reason)"),
    ("ready", "Ready"),
    ("credential_expired", "Credential expired"),
    ("credential_expiring", "Credential expiring"),
    ("onboarding", "Onboarding steps missing"),
    ("assignment", "Overdue assignments"),
    ("signal", "Open signals"),
]


def _page_context(request: HttpRequest, scope: ConsoleTenant, title: str, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), "title": title, "scope": scope, "tenant": scope.tenant, "is_nav_sidebar_enabled": False, **extra}


def _require_write(scope: ConsoleTenant) -> None:
    if not scope.writable:
        raise PermissionDenied


# --- readiness board ------------------------------------------------------------------------


def _matches(row: dict[str, Any], reason: str) -> bool:
    if reason == "ready":
        return row["ready"]
    if reason == "not_ready":
        return not row["ready"]
    if reason.startswith("credential_"):
        state = reason.split("_", 1)[1]
        return any(r["kind"] == "credential" and r.get("state") == state for r in row["reasons"])
    return any(r["kind"] == reason for r in row["reasons"])


def _board_rows(*, scope: ConsoleTenant, site: str | None, reason: str, page: int) -> tuple[list[dict[str, Any]], bool]:
    """Return one page of workers (and whether there are more), walking the tenant in chunks when filtering by reason."""
    queryset = readiness_learners(tenant=scope.tenant, site=site)
    start = (page - 1) * PAGE_SIZE
    if not reason:
        learners = list(queryset[start : start + PAGE_SIZE + 1])
        return readiness_for_learners(tenant=scope.tenant, learners=learners[:PAGE_SIZE]), len(learners) > PAGE_SIZE
    matched: list[dict[str, Any]] = []
    last = None
    while len(matched) <= start + PAGE_SIZE:
        window = queryset.filter(pk__gt=last) if last is not None else queryset
        learners = list(window[:CHUNK])
        if not learners:
            break
        matched.extend(row for row in readiness_for_learners(tenant=scope.tenant, learners=learners) if _matches(row, reason))
        last = learners[-1].pk
    return matched[start : start + PAGE_SIZE], len(matched) > start + PAGE_SIZE


def readiness_view(request: HttpRequest) -> HttpResponse:
    """Per site, ready and not ready; per worker, one reason row per cause, each with a way to act."""
    scope = console_tenant(request)
    site = (request.GET.get("site") or "").strip() or None
    reason = request.GET.get("reason") or ""
    if reason not in dict(REASONS):
        reason = ""
    try:
        page = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        page = 1
    rows, has_more = _board_rows(scope=scope, site=site, reason=reason, page=page)
    steps = dict(OnboardingStep.objects.filter(tenant=scope.tenant).values_list("name", "pk"))
    for row in rows:
        for item in row["reasons"]:
            if item["kind"] == "onboarding":
                item["stepId"] = steps.get(item["name"])
    base = {"tenant": scope.tenant.slug, **({"site": site} if site else {}), **({"reason": reason} if reason else {})}
    context = _page_context(
        request,
        scope,
        "Readiness",
        sites=readiness_site_summary(tenant=scope.tenant),
        site_names=list(Site.objects.filter(tenant=scope.tenant).order_by("name").values_list("name", flat=True)[:500]),
        site=site or "",
        reason=reason,
        reasons=REASONS,
        rows=rows,
        page=page,
        next_url=f"?{urlencode({**base, 'page': page + 1})}" if has_more else "",
        previous_url=f"?{urlencode({**base, 'page': page - 1})}" if page > 1 else "",
        severity_labels=SEVERITY_LABELS,
        here=request.get_full_path(),
        needs_chart=need_days_chart(tenant=scope.tenant),
    )
    return TemplateResponse(request, "admin/console/readiness.html", context)


@require_POST
def readiness_complete_step_view(request: HttpRequest) -> HttpResponse:
    """Record an onboarding step as completed for a worker, then go back to the board."""
    scope = console_tenant(request)
    _require_write(scope)
    step_id = _int(request.POST.get("step"))
    step = OnboardingStep.objects.filter(tenant=scope.tenant, pk=step_id).first() if step_id is not None else None
    learner = learner_get(tenant=scope.tenant, learner_id=request.POST.get("learner") or "")
    if step is None or learner is None:
        raise Http404("No such step or worker")
    onboarding_complete(step=step, learner=learner, by=actor(request))
    messages.success(request, f"{learner}: “{step.name}” completed")
    back = request.POST.get("next") or ""
    if not back.startswith(reverse("admin:readiness")):
        back = f"{reverse('admin:readiness')}?tenant={scope.tenant.slug}"
    return HttpResponseRedirect(back)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- unmatched workers and rejected signals ---------------------------------------------------


def unmatched_view(request: HttpRequest) -> HttpResponse:
    """Signals whose worker matched no learner, and signed signals that failed validation, with reprocess."""
    scope = console_tenant(request)
    unmatched: list[dict[str, Any]] = [
        dict(row)
        for row in Need.objects.filter(tenant=scope.tenant, target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES)
        .values("worker_ref")
        .annotate(needs=Count("id"), signal_total=Count("signals"), first=Min("first_seen_at"), last=Max("last_seen_at"), top=Max("severity"))
        .order_by("-top", "-last")[:200]
    ]
    needs_url = reverse("admin:signals_inbox_need_changelist")
    for row in unmatched:
        row["url"] = f"{needs_url}?{urlencode({'target': 'unmatched', 'q': row['worker_ref'].split(':', 1)[-1], 'tenant__id__exact': scope.tenant.pk})}"
    rejected = list(RejectedSignal.objects.filter(tenant=scope.tenant).order_by("-id")[:200])
    context = _page_context(
        request,
        scope,
        "Unmatched workers and rejected signals",
        unmatched=unmatched,
        rejected=rejected,
        learner_add_url=reverse("admin:learning_learner_add"),
    )
    return TemplateResponse(request, "admin/console/unmatched.html", context)


@require_POST
def reprocess_view(request: HttpRequest, rejected_id: int) -> HttpResponse:
    """Run a rejected signal (its body as edited in the form) through ingest again."""
    scope = console_tenant(request)
    _require_write(scope)
    rejected = RejectedSignal.objects.filter(tenant=scope.tenant, pk=rejected_id).select_related("tenant").first()
    if rejected is None:
        raise Http404("Not found")
    try:
        result = rejected_signal_reprocess(rejected=rejected, actor=actor(request), body=request.POST.get("body"))
        messages.success(request, f"#{rejected.pk} accepted as {result.signal_id}")
    except DomainError as exc:
        messages.error(request, f"#{rejected.pk}: {exc.message}")
    return HttpResponseRedirect(f"{reverse('admin:unmatched')}?tenant={scope.tenant.slug}")


# --- signal map and automation ----------------------------------------------------------------


class AutomationForm(forms.Form):
    auto_author = forms.BooleanField(required=False, label="Author drafts automatically", help_text="Never published or assigned without a person")
    auto_author_threshold = forms.IntegerField(min_value=1, max_value=10_000, label="Threshold", help_text="Open needs sharing a topic that no course fits")
    authoring_quota_monthly = forms.IntegerField(min_value=0, max_value=10_000, label="Monthly quota", help_text="Automatic drafts per calendar month")
    map = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField", "spellcheck": "false"}),
        required=False,
        label="Signal map (JSON)",
        help_text='Per signal type: {"near_miss": {"topic": "Hazard Awareness", "category": "Toolbox", "severity": 4}}',
    )

    def clean_map(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("map") or "{}"
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Must be a JSON object keyed by signal type")
        return value


class PreviewForm(forms.Form):
    sample = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80, "class": "vLargeTextField", "spellcheck": "false"}),
        label="Sample signal (JSON)",
        initial=json.dumps({"event": "signal.near_miss", "data": {"site": "Site A", "payload": {"ref": "NM-1"}}}, indent=2),
    )

    def clean_sample(self) -> Any:
        try:
            return json.loads(self.cleaned_data["sample"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc


def signal_map_view(request: HttpRequest) -> HttpResponse:
    """Per signal type the defaults and auto-author settings, the quota used, and a dry run on a pasted sample."""
    scope = console_tenant(request)
    current = signal_map_json(tenant=scope.tenant)
    initial = {
        "auto_author": current["autoAuthor"],
        "auto_author_threshold": current["autoAuthorThreshold"],
        "authoring_quota_monthly": current["authoringQuotaMonthly"],
        "map": json.dumps(current["map"], indent=2, sort_keys=True),
    }
    settings_form = AutomationForm(initial=initial)
    preview_form = PreviewForm()
    preview = None
    if request.method == "POST" and "save" in request.POST:
        _require_write(scope)
        settings_form = AutomationForm(request.POST)
        if settings_form.is_valid():
            values = settings_form.cleaned_data
            try:
                signal_map_put(
                    tenant=scope.tenant,
                    actor=actor(request),
                    mapping=values["map"],
                    auto_author=values["auto_author"],
                    auto_author_threshold=values["auto_author_threshold"],
                    authoring_quota_monthly=values["authoring_quota_monthly"],
                )
            except ValidationFailed as exc:
                for field, reason in exc.errors.items():
                    settings_form.add_error("map", f"{field}: {reason}")
            except DomainError as exc:
                settings_form.add_error("map", exc.message)
            else:
                messages.success(request, "Signal map and automation saved")
                return HttpResponseRedirect(f"{reverse('admin:signal_map')}?tenant={scope.tenant.slug}")
    elif request.method == "POST":
        preview_form = PreviewForm(request.POST)
        if preview_form.is_valid():
            try:
                preview = signal_map_preview(tenant=scope.tenant, sample=preview_form.cleaned_data["sample"])
            except DomainError as exc:
                preview_form.add_error("sample", exc.message)
    rows = [{"type": kind, **values} for kind, values in sorted(current["map"].items())]
    context = _page_context(
        request,
        scope,
        "Signal map & automation",
        settings_form=settings_form,
        preview_form=preview_form,
        preview=preview,
        preview_json=json.dumps(preview, indent=2, default=str) if preview else "",
        rows=rows,
        current=current,
        quota_used=AuditEntry.objects.filter(tenant=scope.tenant, action="auto_authored", created_at__gte=_month_start()).count(),
        severity_labels=SEVERITY_LABELS,
    )
    return TemplateResponse(request, "admin/console/signal_map.html", context)


def _month_start() -> datetime:
    return timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


console_site().register_page("readiness/", readiness_view, name="readiness")
console_site().register_page("readiness/complete-step/", readiness_complete_step_view, name="readiness_complete_step")
console_site().register_page("unmatched/", unmatched_view, name="unmatched")
console_site().register_page("unmatched/<int:rejected_id>/reprocess/", reprocess_view, name="reprocess")
console_site().register_page("signal-map/", signal_map_view, name="signal_map")
console_site().add_menu_link("Readiness", "readiness", order=20)
console_site().add_menu_link("Unmatched & rejected", "unmatched", order=30)
console_site().add_menu_link("Signal map & automation", "signal_map", order=40)
