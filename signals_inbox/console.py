"""The Training needs inbox: the need list, a need's page, and Offer / Author / Dismiss, through the services."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Count, QuerySet
from django.http import QueryDict
from django.utils.functional import cached_property
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from learning.models import Assignment, Course, CourseStatus, Learner
from signals_inbox.bulk import MAX_BULK, bulk_run_execute, bulk_run_start, error_text, offer_summary
from signals_inbox.models import ACTIVE_NEED_STATUSES, AuditEntry, BulkKind, BulkRun, Need, NeedStatus, Signal, Target
from signals_inbox.services import need_author, need_dismiss, need_offer, need_offer_preview
from skillhub.console.site import console_site
from skillhub.errors import DomainError
from tenants import audit
from tenants.admin_scoping import TenantScopedAdmin, can_write
from tenants.models import Group, Site

SEVERITY_LABELS = {4: "4 blocking", 3: "3 soon", 2: "2 info", 1: "1 low"}
# A confirmed bulk action of at most this many needs runs in the request, so its message has the totals.
INLINE_BULK = 50
# Up to this many chosen needs are listed one by one on a confirmation page; more are summarised.
LISTED = 25


def actor(request: HttpRequest) -> str:
    """Who acts: the label ConsoleActorMiddleware named for this write (tenants.audit), as everywhere else."""
    return audit.current_label()


_error_text = error_text


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


class BulkRunFilter(admin.SimpleListFilter):
    """The needs of one bulk Offer or Dismiss (?run=<id>), linked from the run's page; not shown as a choice."""

    title = "bulk action"
    parameter_name = "run"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        run = BulkRun.objects.filter(pk=_uuid_or_none(self.value())).values_list("need_ids", flat=True).first()
        return queryset.filter(pk__in=run or [])


def _uuid_or_none(value: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


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
    list_filter = (StatusFilter, SeverityFilter, SiteFilter, TopicFilter, SourceTypeFilter, "target", "tenant", BulkRunFilter)
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

    # --- bulk actions: Offer and Dismiss ask first (the selection travels in the POST), Author acts ---

    def _chosen(self, request: HttpRequest, queryset: QuerySet) -> dict[str, Any]:
        """What an action was given: "select all" is the list's filters (its query string), else the ticked ids."""
        if request.POST.get("select_across") == "1":
            return {"filters": request.GET.urlencode()}
        return {"ids": [str(pk) for pk in self.writable(request, queryset).values_list("pk", flat=True)[: MAX_BULK + 1]]}

    @admin.action(description="Offer the selected needs…", permissions=["change"])
    def offer(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self._offer_page(request, None, bound=False, **self._chosen(request, queryset))

    @admin.action(description="Author drafts for the selected needs", permissions=["change"])
    def author(self, request: HttpRequest, queryset: QuerySet) -> HttpResponseRedirect | None:
        drafts, failed = [], []
        for need in self.writable(request, queryset)[:INLINE_BULK]:
            try:
                drafts.append(need_author(need=need, actor=actor(request)))
            except DomainError as exc:
                failed.append(f"{need.topic}: {_error_text(exc)}")
        if len(drafts) == 1 and not failed:
            messages.success(request, f"Draft “{drafts[0].title}” created: edit its outline, then publish it.")
            return HttpResponseRedirect(reverse("admin:learning_course_change", args=[quote(drafts[0].pk)]))
        courses = reverse("admin:learning_course_changelist") + "?status__exact=draft"
        text = f"{len(drafts)} draft{'s' if len(drafts) != 1 else ''} created" + (f", {len(failed)} refused ({failed[0]}{' …' if len(failed) > 1 else ''})" if failed else "")
        (messages.success if drafts else messages.error)(request, format_html('{}: <a href="{}">see the drafts</a>', text, courses))
        return None

    @admin.action(description="Dismiss the selected needs…", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self._dismiss_page(request, None, bound=False, **self._chosen(request, queryset))

    # --- pages ---

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # The console bar replaces the model sidebar here: the inbox needs the width.
        return super().changelist_view(request, {"title": "Training needs", "is_nav_sidebar_enabled": False, **(extra_context or {})})

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("offer/", wrap(require_POST(self.offer_view)), name="signals_inbox_need_offer_many"),
            path("dismiss/", wrap(require_POST(self.dismiss_view)), name="signals_inbox_need_dismiss_many"),
            path("bulk/<uuid:run_id>/", wrap(self.run_view), name="signals_inbox_need_run"),
            path("<path:object_id>/offer/", wrap(self.offer_view), name="signals_inbox_need_offer"),
            path("<path:object_id>/author/", wrap(require_POST(self.author_view)), name="signals_inbox_need_author"),
            path("<path:object_id>/dismiss/", wrap(self.dismiss_view), name="signals_inbox_need_dismiss"),
            *super().get_urls(),
        ]

    def _needs_for(
        self, request: HttpRequest, object_id: str | None, ids: list[str] | None = None, filters: str | None = None
    ) -> Selection:
        """The needs a page acts on: one by URL, a whole filtered list ("select all": its query string), or posted ids.

        Every one must be the user's to change, of one tenant. A whole list is read through the list's
        own filters (no list of 10,000 ids in a query); the first LISTED needs are loaded to be shown.
        """
        if object_id:
            return self._one_need(request, object_id)
        if filters is None and ids is None and "filters" in request.POST:
            filters = request.POST["filters"]
        if filters is not None:
            queryset = self.writable(request, self._listed(request, filters))
            count = queryset.count()
        else:
            queryset, count = self._posted_needs(request, ids)
        if not count or count > MAX_BULK:
            raise Http404(f"Choose between 1 and {MAX_BULK:,} needs")
        if queryset.values("tenant_id").distinct().count() > 1:
            raise Http404("Choose needs of one tenant")
        ordered = queryset.order_by("-severity", "-last_seen_at", "pk")
        first = list(ordered.select_related("tenant", "learner", "recommended_course")[:LISTED])
        return Selection(queryset=ordered, count=count, first=first, tenant=first[0].tenant, filters=filters)

    def _one_need(self, request: HttpRequest, object_id: str) -> Selection:
        need = self.get_object(request, unquote(object_id))
        if need is None:
            raise Http404("Not found")
        if not self.has_change_permission(request, need):
            raise PermissionDenied
        return Selection(queryset=Need.objects.filter(pk=need.pk), count=1, first=[need], tenant=need.tenant)

    def _posted_needs(self, request: HttpRequest, ids: list[str] | None) -> tuple[QuerySet, int]:
        """The ticked needs (posted ids): every one must exist and be the user's to change."""
        raw = ids if ids is not None else [v for v in (request.POST.get("ids") or "").split(",") if v]
        if not raw or len(raw) > MAX_BULK:
            raise Http404(f"Choose between 1 and {MAX_BULK:,} needs")
        wanted = [value for value in dict.fromkeys(raw) if _uuid_or_none(value) is not None]
        queryset = self.writable(request, self.get_queryset(request).filter(pk__in=wanted))
        count = queryset.count()
        if count != len(wanted) or len(wanted) != len(raw):
            raise Http404("Not found")
        return queryset, count

    def _listed(self, request: HttpRequest, filters: str) -> QuerySet:
        """The needs the inbox lists for this query string (its filters and search), as "select all" took them."""
        shown = request.GET
        request.GET = QueryDict(filters)
        try:
            changelist = self.get_changelist_instance(request)
            return changelist.get_queryset(request)
        except IncorrectLookupParameters:
            raise Http404("Unknown filter") from None
        finally:
            request.GET = shown

    def _context(self, request: HttpRequest, title: str, selection: Selection, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "needs": selection.first,
            "need_count": selection.count,
            "unlisted": max(0, selection.count - len(selection.first)),
            "ids": "" if selection.filters is not None else ",".join(selection.ids),
            "filters": selection.filters,
            "inbox_url": reverse("admin:signals_inbox_need_changelist"),
            "is_nav_sidebar_enabled": False,
            **extra,
        }

    def offer_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        return self._offer_page(request, object_id, bound=request.method == "POST")

    def _offer_page(
        self, request: HttpRequest, object_id: str | None, *, bound: bool, ids: list[str] | None = None, filters: str | None = None
    ) -> HttpResponse:
        selection = self._needs_for(request, object_id, ids, filters)
        one = selection.first[0] if selection.count == 1 else None
        form = self._offer_form(request, selection, one, bound)
        previews: list[Any] = []
        problems: list[Any] = []
        summary = None
        fingerprint = ""
        if bound and form.is_valid():
            arguments = form.service_arguments()
            due = form.cleaned_data["due_date"]
            fingerprint = hashlib.sha256(json.dumps([arguments, str(due), selection.count], sort_keys=True).encode()).hexdigest()[:16]
            # Confirm only what was previewed: changed choices are previewed again first.
            if "confirm" in request.POST and request.POST.get("previewed") == fingerprint:
                return self._offer_confirmed(request, form, selection, one, arguments, due)
            if one is not None:
                previews, problems = self._preview_one(one, arguments)
            else:
                summary = self._summary(form, selection)
        context = self._context(
            request,
            "Offer training" if one is not None else f"Offer training for {selection.count:,} needs",
            selection,
            form=form,
            media=self.media + form.media,
            previews=previews,
            problems=problems,
            summary=summary,
            fingerprint=fingerprint if previews or (summary and summary.cohorts) else "",
            total_new=sum(p.new_count for p in previews),
            total_people=sum(len(p.learners) for p in previews),
            action_url=request.path if object_id else reverse("admin:signals_inbox_need_offer_many"),
        )
        return TemplateResponse(request, "admin/signals_inbox/need/offer.html", context)

    def _offer_form(self, request: HttpRequest, selection: Selection, one: Need | None, bound: bool) -> OfferForm:
        initial = {"course": one.recommended_course_id} if one is not None and one.recommended_course_id else {}
        form = OfferForm(request.POST if bound else None, tenant=selection.tenant, admin_site=self.admin_site, initial=initial)
        if one is not None:
            target_field: Any = form.fields["target"]
            target_field.choices = [("need", f"The need's own: {_target_text(one)}"), *OfferForm.TARGETS[1:]]
        return form

    def _offer_confirmed(
        self, request: HttpRequest, form: OfferForm, selection: Selection, one: Need | None, arguments: dict[str, Any], due: Any
    ) -> HttpResponse:
        if one is not None:
            return self._offer_one(request, one, arguments, due)
        words = f"“{form.cleaned_data['course'].title}”" if form.cleaned_data.get("course") else "each need's recommended course"
        run = bulk_run_start(
            tenant=selection.tenant, kind=BulkKind.OFFER, need_ids=selection.ids, actor=actor(request),
            arguments={**arguments, "due_date": due.isoformat() if due else None}, summary=f"Offer {words}",
        )  # fmt: skip
        return self._run_started(request, run)

    @staticmethod
    def _preview_one(need: Need, arguments: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        try:
            return [need_offer_preview(need=need, **arguments)], []
        except DomainError as exc:
            return [], [(need, _error_text(exc))]

    @staticmethod
    def _summary(form: OfferForm, selection: Selection) -> Any:
        data = form.cleaned_data
        return offer_summary(
            tenant=selection.tenant, needs=selection.queryset, course=data.get("course"), target=data["target"],
            learners=list(data.get("learners") or []), group=data.get("group"), site=data.get("site"),
        )  # fmt: skip

    def _offer_one(self, request: HttpRequest, need: Need, arguments: dict[str, Any], due: Any) -> HttpResponse:
        try:
            assignments = need_offer(need=need, actor=actor(request), due_date=due, **arguments)
        except DomainError as exc:
            messages.error(request, f"Not offered: {_error_text(exc)}")
            return HttpResponseRedirect(reverse("admin:signals_inbox_need_change", args=[quote(need.pk)]))
        self.log_change(request, need, f"Offered to {len(assignments)} learner(s)")
        messages.success(request, f"Offered to {len(assignments)} learner{'s' if len(assignments) != 1 else ''}")
        return HttpResponseRedirect(reverse("admin:signals_inbox_need_change", args=[quote(need.pk)]))

    def _run_started(self, request: HttpRequest, run: BulkRun) -> HttpResponse:
        """A small run is carried out at once (one message with its totals); a large one in the background."""
        page = reverse("admin:signals_inbox_need_run", args=[run.pk])
        if run.total <= INLINE_BULK:
            finished = bulk_run_execute(run_id=str(run.pk)) or run
            messages.add_message(request, messages.ERROR if finished.failed and not finished.done else messages.SUCCESS, format_html('{}: <a href="{}">see what was done</a>', run_totals(finished), page))
        else:
            messages.info(request, format_html('{} of {} needs started: <a href="{}">its totals</a> grow as it runs', run.summary, f"{run.total:,}", page))
        return HttpResponseRedirect(page)

    def run_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        """A bulk run's page: what was confirmed, how far it is, its totals and the first refusals."""
        run = BulkRun.objects.filter(pk=run_id, tenant_id__in=self._tenant_ids(request)).first()
        if run is None:
            raise Http404("Not found")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{run.get_kind_display()} of {run.total:,} needs",
            "run": run,
            "totals": run_totals(run),
            "progress": round(100 * run.position / run.total) if run.total else 100,
            "needs_url": reverse("admin:signals_inbox_need_changelist") + f"?run={run.pk}&status=all",
            "inbox_url": reverse("admin:signals_inbox_need_changelist"),
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/signals_inbox/need/run.html", context)

    def _tenant_ids(self, request: HttpRequest) -> Any:
        return self.get_queryset(request).values("tenant_id")

    def author_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        need = self._needs_for(request, object_id).first[0]
        try:
            course = need_author(need=need, actor=actor(request))
            self.log_change(request, need, f"Authored the draft “{course.title}”")
        except DomainError as exc:
            messages.error(request, f"Not authored: {_error_text(exc)}")
            return HttpResponseRedirect(reverse("admin:signals_inbox_need_change", args=[quote(need.pk)]))
        messages.success(request, f"Draft “{course.title}” created from {need.signal_count} signal(s): edit its lessons and quiz, then publish it.")
        return HttpResponseRedirect(reverse("admin:learning_course_change", args=[quote(course.pk)]))

    def dismiss_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        return self._dismiss_page(request, object_id, bound=request.method == "POST")

    def _dismiss_page(
        self, request: HttpRequest, object_id: str | None, *, bound: bool, ids: list[str] | None = None, filters: str | None = None
    ) -> HttpResponse:
        selection = self._needs_for(request, object_id, ids, filters)
        form = DismissForm(request.POST if bound else None)
        if bound and "reason" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]
            if selection.count == 1:
                try:
                    need_dismiss(need=selection.first[0], actor=actor(request), reason=reason)
                    self.log_change(request, selection.first[0], f"Dismissed: {reason[:150]}")
                    messages.success(request, "Need dismissed")
                except DomainError as exc:
                    messages.error(request, f"Not dismissed: {_error_text(exc)}")
                return HttpResponseRedirect(reverse("admin:signals_inbox_need_changelist"))
            run = bulk_run_start(
                tenant=selection.tenant, kind=BulkKind.DISMISS, need_ids=selection.ids, actor=actor(request),
                arguments={"reason": reason}, summary="Dismiss",
            )  # fmt: skip
            return self._run_started(request, run)
        topics = (
            [(row["topic"], row["n"]) for row in selection.queryset.order_by().values("topic").annotate(n=Count("id")).order_by("-n", "topic")[:10]]
            if selection.count > LISTED
            else []
        )
        title = "Dismiss a need" if selection.count == 1 else f"Dismiss {selection.count:,} needs"
        context = self._context(
            request, title, selection, form=form, topics=topics,
            action_url=request.path if object_id else reverse("admin:signals_inbox_need_dismiss_many"),
        )  # fmt: skip
        return TemplateResponse(request, "admin/signals_inbox/need/dismiss.html", context)

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
            Selection(queryset=Need.objects.filter(pk=need.pk), count=1, first=[need], tenant=need.tenant),
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


@dataclass
class Selection:
    """The needs a confirmation page acts on: their queryset and count, the first few loaded to be listed, their tenant."""

    queryset: QuerySet
    count: int
    first: list[Need]
    tenant: Any
    filters: str | None = None  # "select all": the inbox's query string, posted on instead of the ids

    @cached_property
    def ids(self) -> list[str]:
        return [str(pk) for pk in self.queryset.values_list("pk", flat=True)[:MAX_BULK]]


def run_totals(run: BulkRun) -> str:
    """A bulk run's totals in one sentence."""
    verb = "Offered" if run.kind == BulkKind.OFFER else "Dismissed"
    text = f"{verb} {run.done:,} of {run.total:,} need{'s' if run.total != 1 else ''}"
    if run.kind == BulkKind.OFFER:
        text += f" ({run.assignments:,} assignment{'s' if run.assignments != 1 else ''})"
    if run.failed:
        text += f"; {run.failed:,} refused"
    if run.finished_at is None:
        text += f"; {run.total - run.position:,} still to do"
    return text


admin.site.register(Need, NeedAdmin)
console_site().add_menu_link("Training needs", "signals_inbox_need_changelist", order=10)
