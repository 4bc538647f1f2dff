"""The Training needs inbox: the need list, a need's page, and Offer / Author / Dismiss, through the services."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from learning.models import Assignment, Course, CourseStatus, Learner
from signals_inbox.models import ACTIVE_NEED_STATUSES, AuditEntry, Need, NeedStatus, Signal, Target
from signals_inbox.services import need_author, need_dismiss, need_offer, need_offer_preview
from skillhub.console.site import console_site
from skillhub.errors import DomainError, ValidationFailed
from tenants import audit
from tenants.admin_scoping import TenantScopedAdmin, can_write
from tenants.models import Group, Site

SEVERITY_LABELS = {4: "4 blocking", 3: "3 soon", 2: "2 info", 1: "1 low"}
MAX_BULK = 200


def actor(request: HttpRequest) -> str:
    """Who acts: the label ConsoleActorMiddleware named for this write (tenants.audit), as everywhere else."""
    return audit.current_label()


def _error_text(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{field.replace('_', ' ')}: {reason}" for field, reason in exc.errors.items())
    return exc.message


# --- list filters ---------------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    """Needs that still want action by default; any one status, or all."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Needs action"), *NeedStatus.choices, ("all", "All")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or "active"
        if value == "active":
            return queryset.filter(status__in=ACTIVE_NEED_STATUSES)
        if value in NeedStatus.values:
            return queryset.filter(status=value)
        return queryset

    def choices(self, changelist: Any) -> Any:
        current = self.value() or "active"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class SeverityFilter(admin.SimpleListFilter):
    title = "severity"
    parameter_name = "severity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(level), label) for level, label in SEVERITY_LABELS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        value = self.value() or ""
        return queryset.filter(severity=int(value)) if value in {"1", "2", "3", "4"} else queryset


class _DistinctValueFilter(admin.SimpleListFilter):
    """The distinct values of one column among the user's needs (bounded)."""

    column = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = (
            model_admin.get_queryset(request)
            .exclude(**{self.column: ""})
            .order_by(self.column)
            .values_list(self.column, flat=True)
            .distinct()[:100]
        )
        return [(value, value) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.column: self.value()}) if self.value() else queryset


class SiteFilter(_DistinctValueFilter):
    title = "site"
    parameter_name = "site"
    column = "site_name"


class TopicFilter(_DistinctValueFilter):
    title = "topic"
    parameter_name = "topic"
    column = "topic"


class SourceTypeFilter(_DistinctValueFilter):
    title = "source type"
    parameter_name = "type"
    column = "type"


# --- forms ----------------------------------------------------------------------------------


class OfferForm(forms.Form):
    """Offer: a course (the recommendation preselected), whom to assign, and by when."""

    TARGETS = [
        ("need", "The need's own worker or site"),
        ("learners", "Chosen learners"),
        ("group", "A group"),
        ("site", "A whole site"),
    ]
    course = forms.ModelChoiceField(queryset=Course.objects.none(), required=False, empty_label="Each need's recommended course")
    target = forms.ChoiceField(choices=TARGETS, widget=forms.RadioSelect, initial="need")
    learners = forms.ModelMultipleChoiceField(queryset=Learner.objects.none(), required=False)
    group = forms.ModelChoiceField(queryset=Group.objects.none(), required=False)
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Blank: 7 days for blocking needs, else 14")

    def __init__(self, *args: Any, tenant: Any, admin_site: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["course"].queryset = Course.objects.filter(tenant=tenant, status=CourseStatus.PUBLISHED).order_by("title")
        # Searched as you type (a tenant may have a million learners), scoped like the learner list.
        fields["learners"].widget = AutocompleteSelectMultiple(Need._meta.get_field("learner"), admin_site)
        fields["learners"].queryset = Learner.objects.filter(tenant=tenant)
        fields["group"].queryset = Group.objects.filter(tenant=tenant)
        fields["site"].queryset = Site.objects.filter(tenant=tenant)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        target = cleaned.get("target")
        needed = {"learners": "Choose at least one learner", "group": "Choose a group", "site": "Choose a site"}
        if target in needed and not cleaned.get(target):
            self.add_error(target, needed[target])
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        """Return need_offer's keyword arguments for these choices."""
        data = self.cleaned_data
        target = data["target"]
        course = data.get("course")
        return {
            "course_id": str(course.pk) if course else None,
            "learner_ids": [str(l.pk) for l in data["learners"]] if target == "learners" else None,
            "group_id": str(data["group"].pk) if target == "group" else None,
            "site": data["site"].name if target == "site" else None,
        }


class DismissForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=1000, help_text="Kept in the audit trail and sent with need.dismissed")


def _target_text(need: Need) -> str:
    if need.target == Target.WORKER and need.learner_id:
        return f"{need.learner}"
    if need.target == Target.COHORT:
        return f"everyone at {need.site_name}"
    if need.target == Target.UNMATCHED:
        return f"{need.worker_ref} (matches no learner yet: choose someone)"
    return "not resolved yet"


# --- the inbox ------------------------------------------------------------------------------


class NeedAdmin(TenantScopedAdmin):
    """The Training needs inbox: what signals asked for, and Offer / Author / Dismiss on each."""

    list_display = ("severity_badge", "topic_link", "who", "recommendation", "signal_count_column", "seen", "status_badge", "row_actions")
    list_display_links = None
    list_filter = (StatusFilter, SeverityFilter, SiteFilter, TopicFilter, SourceTypeFilter, "target", "tenant")
    search_fields = ("topic", "worker_ref", "site_name", "dedupe_key", "learner__first_name", "learner__last_name", "learner__email")
    ordering = ("-severity", "-last_seen_at")
    list_select_related = ("learner", "recommended_course", "authored_course")
    list_per_page = 100
    show_full_result_count = False
    actions = ["offer", "author", "dismiss"]
    change_list_template = "admin/signals_inbox/need/inbox.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Need | None = None) -> bool:
        return False

    # --- columns ---

    @admin.display(description="Severity", ordering="severity")
    def severity_badge(self, need: Need) -> str:
        return format_html('<span class="sev sev-{}">{}</span>', need.severity, SEVERITY_LABELS.get(need.severity, need.severity))

    @admin.display(description="Topic", ordering="topic")
    def topic_link(self, need: Need) -> str:
        url = reverse("admin:signals_inbox_need_change", args=[quote(need.pk)])
        return format_html('<a href="{}"><strong>{}</strong></a><br><span class="muted">{}</span>', url, need.topic, need.type)

    @admin.display(description="Who")
    def who(self, need: Need) -> str:
        if need.target == Target.WORKER and need.learner_id:
            url = reverse("admin:learning_learner_change", args=[quote(need.learner_id)])
            site = f" · {need.site_name}" if need.site_name else ""
            return format_html('<a href="{}">{}</a><span class="muted">{}</span>', url, need.learner, site)
        if need.target == Target.COHORT:
            return format_html("Site cohort: <strong>{}</strong>", need.site_name)
        if need.target == Target.UNMATCHED:
            return format_html('<span class="warn">Unmatched</span> <code>{}</code>', need.worker_ref)
        return format_html('<span class="muted">{}</span>', need.get_target_display())

    @admin.display(description="Recommendation")
    def recommendation(self, need: Need) -> str:
        if need.authored_course_id:
            url = reverse("admin:learning_course_change", args=[quote(need.authored_course_id)])
            return format_html('Draft: <a href="{}">{}</a>', url, need.authored_course)
        if need.recommended_course_id:
            return format_html("{} <span class=\"muted\">({})</span>", need.recommended_course, need.match or "match")
        if need.target == Target.PENDING:
            return format_html('<span class="muted">{}</span>', "resolving…")
        return format_html('<em class="warn">{}</em>', "author one")

    @admin.display(description="Signals", ordering="signal_count")
    def signal_count_column(self, need: Need) -> int:
        return need.signal_count

    @admin.display(description="First / last seen", ordering="last_seen_at")
    def seen(self, need: Need) -> str:
        first, last = (timezone.localtime(value) for value in (need.first_seen_at, need.last_seen_at))
        return format_html('<span title="{}">{}</span><br><span title="{}">{}</span>', first.isoformat(), first.strftime("%d %b %H:%M"), last.isoformat(), last.strftime("%d %b %H:%M"))

    @admin.display(description="Status", ordering="status")
    def status_badge(self, need: Need) -> str:
        return format_html('<span class="status status-{}">{}</span>', need.status, need.get_status_display())

    @admin.display(description="")
    def row_actions(self, need: Need) -> str:
        if need.status not in ACTIVE_NEED_STATUSES:
            return ""
        offer = reverse("admin:signals_inbox_need_offer", args=[quote(need.pk)])
        author = reverse("admin:signals_inbox_need_author", args=[quote(need.pk)])
        dismiss = reverse("admin:signals_inbox_need_dismiss", args=[quote(need.pk)])
        author_button = (
            format_html('<button type="submit" class="console-button secondary" form="console-post" formaction="{}">Author</button>', author)
            if not need.authored_course_id
            else ""
        )
        return format_html(
            '<span class="row-actions"><a href="{}">Offer</a>{}<a class="secondary" href="{}">Dismiss</a></span>', offer, author_button, dismiss
        )

    # --- bulk actions: Offer and Dismiss ask first, Author acts ---

    def _ids_redirect(self, name: str, queryset: QuerySet) -> HttpResponseRedirect:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True)[:MAX_BULK])
        return HttpResponseRedirect(f"{reverse(f'admin:signals_inbox_need_{name}_many')}?ids={ids}")

    @admin.action(description="Offer the selected needs…", permissions=["change"])
    def offer(self, request: HttpRequest, queryset: QuerySet) -> HttpResponseRedirect:
        return self._ids_redirect("offer", self.writable(request, queryset))

    @admin.action(description="Author drafts for the selected needs", permissions=["change"])
    def author(self, request: HttpRequest, queryset: QuerySet) -> HttpResponseRedirect | None:
        drafts = []
        for need in self.writable(request, queryset)[:MAX_BULK]:
            try:
                drafts.append(need_author(need=need, actor=actor(request)))
            except DomainError as exc:
                messages.error(request, f"{need.topic}: {_error_text(exc)}")
        if len(drafts) == 1:
            messages.success(request, f"Draft “{drafts[0].title}” created: edit its outline, then publish it.")
            return HttpResponseRedirect(reverse("admin:learning_course_change", args=[quote(drafts[0].pk)]))
        if drafts:
            messages.success(request, f"{len(drafts)} drafts created")
        return None

    @admin.action(description="Dismiss the selected needs…", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet) -> HttpResponseRedirect:
        return self._ids_redirect("dismiss", self.writable(request, queryset))

    # --- pages ---

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # The console bar replaces the model sidebar here: the inbox needs the width.
        return super().changelist_view(request, {"title": "Training needs", "is_nav_sidebar_enabled": False, **(extra_context or {})})

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("offer/", wrap(self.offer_view), name="signals_inbox_need_offer_many"),
            path("dismiss/", wrap(self.dismiss_view), name="signals_inbox_need_dismiss_many"),
            path("<path:object_id>/offer/", wrap(self.offer_view), name="signals_inbox_need_offer"),
            path("<path:object_id>/author/", wrap(require_POST(self.author_view)), name="signals_inbox_need_author"),
            path("<path:object_id>/dismiss/", wrap(self.dismiss_view), name="signals_inbox_need_dismiss"),
            *super().get_urls(),
        ]

    def _needs_for(self, request: HttpRequest, object_id: str | None) -> list[Need]:
        """The needs a page acts on (one by URL, or ?ids=); every one must be the user's to change."""
        raw = [object_id] if object_id else [v for v in (request.GET.get("ids") or request.POST.get("ids") or "").split(",") if v]
        if not raw or len(raw) > MAX_BULK:
            raise Http404("Choose between 1 and 200 needs")
        needs = []
        for value in raw:
            need = self.get_object(request, unquote(value))
            if need is None:
                raise Http404("Not found")
            if not self.has_change_permission(request, need):
                raise PermissionDenied
            needs.append(need)
        if len({need.tenant_id for need in needs}) > 1:
            raise Http404("Choose needs of one tenant")
        return needs

    def _context(self, request: HttpRequest, title: str, needs: list[Need], **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "needs": needs,
            "ids": ",".join(str(n.pk) for n in needs),
            "inbox_url": reverse("admin:signals_inbox_need_changelist"),
            "is_nav_sidebar_enabled": False,
            **extra,
        }

    def offer_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        needs = self._needs_for(request, object_id)
        tenant = needs[0].tenant
        initial = {"course": needs[0].recommended_course_id} if len(needs) == 1 and needs[0].recommended_course_id else {}
        form = OfferForm(request.POST or None, tenant=tenant, admin_site=self.admin_site, initial=initial)
        if len(needs) == 1:
            target_field: Any = form.fields["target"]
            target_field.choices = [("need", f"The need's own: {_target_text(needs[0])}"), *OfferForm.TARGETS[1:]]
        previews, problems = [], []
        fingerprint = ""
        if request.method == "POST" and form.is_valid():
            arguments = form.service_arguments()
            fingerprint = hashlib.sha256(json.dumps([arguments, str(form.cleaned_data["due_date"])], sort_keys=True).encode()).hexdigest()[:16]
            # Confirm only what was previewed: changed choices are previewed again first.
            if "confirm" in request.POST and request.POST.get("previewed") == fingerprint:
                done = 0
                for need in needs:
                    try:
                        assignments = need_offer(need=need, actor=actor(request), due_date=form.cleaned_data["due_date"], **arguments)
                        self.log_change(request, need, f"Offered to {len(assignments)} learner(s)")
                        done += 1
                        messages.success(request, f"{need.topic}: offered to {len(assignments)} learner(s)")
                    except DomainError as exc:
                        messages.error(request, f"{need.topic}: {_error_text(exc)}")
                if len(needs) == 1 and done:
                    return HttpResponseRedirect(reverse("admin:signals_inbox_need_change", args=[quote(needs[0].pk)]))
                return HttpResponseRedirect(reverse("admin:signals_inbox_need_changelist"))
            for need in needs:
                try:
                    previews.append(need_offer_preview(need=need, **arguments))
                except DomainError as exc:
                    problems.append((need, _error_text(exc)))
        context = self._context(
            request,
            "Offer training" if len(needs) == 1 else f"Offer training for {len(needs)} needs",
            needs,
            form=form,
            media=self.media + form.media,
            previews=previews,
            problems=problems,
            fingerprint=fingerprint if previews else "",
            total_new=sum(p.new_count for p in previews),
            total_people=sum(len(p.learners) for p in previews),
        )
        return TemplateResponse(request, "admin/signals_inbox/need/offer.html", context)

    def author_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        need = self._needs_for(request, object_id)[0]
        try:
            course = need_author(need=need, actor=actor(request))
            self.log_change(request, need, f"Authored the draft “{course.title}”")
        except DomainError as exc:
            messages.error(request, f"{need.topic}: {_error_text(exc)}")
            return HttpResponseRedirect(reverse("admin:signals_inbox_need_change", args=[quote(need.pk)]))
        messages.success(request, f"Draft “{course.title}” created from {need.signal_count} signal(s): edit its outline, then publish it.")
        return HttpResponseRedirect(reverse("admin:learning_course_change", args=[quote(course.pk)]))

    def dismiss_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        needs = self._needs_for(request, object_id)
        form = DismissForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            for need in needs:
                try:
                    need_dismiss(need=need, actor=actor(request), reason=form.cleaned_data["reason"])
                    self.log_change(request, need, f"Dismissed: {form.cleaned_data['reason'][:150]}")
                    messages.success(request, f"{need.topic}: dismissed")
                except DomainError as exc:
                    messages.error(request, f"{need.topic}: {_error_text(exc)}")
            return HttpResponseRedirect(reverse("admin:signals_inbox_need_changelist"))
        title = "Dismiss a need" if len(needs) == 1 else f"Dismiss {len(needs)} needs"
        return TemplateResponse(request, "admin/signals_inbox/need/dismiss.html", self._context(request, title, needs, form=form))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """A need's page: what it is, its signals with their raw payloads, its assignments and its audit trail."""
        need = self.get_object(request, unquote(object_id))
        if need is None:
            raise Http404("Not found")
        signals = list(Signal.objects.filter(tenant_id=need.tenant_id, need=need).order_by("-id")[:100])
        for signal in signals:
            signal.pretty = json.dumps(signal.data, indent=2, sort_keys=True, ensure_ascii=False)  # type: ignore[attr-defined]
        assignments = list(
            Assignment.objects.filter(tenant_id=need.tenant_id, needs=need).select_related("learner", "course").order_by("learner__last_name")[:500]
        )
        audit = list(AuditEntry.objects.filter(tenant_id=need.tenant_id, need=need).order_by("-id")[:200])
        for entry in audit:
            entry.pretty = json.dumps(entry.details, sort_keys=True, ensure_ascii=False)  # type: ignore[attr-defined]
        done = sum(1 for a in assignments if a.status == "completed")
        context = self._context(
            request,
            need.topic,
            [need],
            need=need,
            original=need,
            signals=signals,
            assignments=assignments,
            completed=done,
            progress=round(100 * done / len(assignments)) if assignments else 0,
            audit=audit,
            payload=json.dumps(need.payload, indent=2, sort_keys=True, ensure_ascii=False),
            severity_label=SEVERITY_LABELS.get(need.severity, need.severity),
            can_act=need.status in ACTIVE_NEED_STATUSES and can_write(request, need.tenant_id),
            has_view_permission=True,
        )
        return TemplateResponse(request, "admin/signals_inbox/need/detail.html", context)


admin.site.register(Need, NeedAdmin)
console_site().add_menu_link("Training needs", "signals_inbox_need_changelist", order=10)
