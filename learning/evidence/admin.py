"""The back office for evidence, tasks, assessments, moderations, exports, credentials and onboarding.

Every write goes through the same services as the API: reviewing evidence, moderating, expiring or
restarting an export, saving a credential or an onboarding step, undoing a completion.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.clickjacking import xframe_options_sameorigin

from learning.evidence.models import Assessment, Evidence, Export, ExportPolicy, Moderation, Task
from learning.evidence.services import (
    Caller,
    credential_create,
    credential_update,
    evidence_delete,
    evidence_review,
    evidence_update,
    export_expire_now,
    export_policy_set,
    export_request,
    export_restart,
    moderation_record,
    onboarding_step_create,
    onboarding_undo,
)
from learning.evidence import storage
from learning.evidence.services.credentials import credential_errors
from learning.evidence.sniffing import safe_file_name
from learning.models import Credential, OnboardingCompletion, OnboardingStep
from skillhub.errors import DomainError
from tenants.admin import TenantScopedAdmin


def _caller(request: HttpRequest) -> Caller:
    return Caller(ref=f"user:{request.user.pk}", label=f"user:{request.user.get_username()}"[:200])


def _each(request: HttpRequest, queryset: Iterable[Any], action: Callable[..., Any]) -> None:
    """Run a service on each selected row; a refused row is reported, the others still go through."""
    done = 0
    for obj in queryset:
        try:
            action(obj)
            done += 1
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.message}")
    if done:
        messages.success(request, f"{done} done")


class ReadOnlyAdmin(TenantScopedAdmin):
    """Rows written only by services: shown, filtered and acted on, never edited in a form."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Shown in the page itself; anything else (or a file of another type) is offered as a download only.
PREVIEWED_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
PREVIEWED = (*PREVIEWED_IMAGES, "application/pdf")


def evidence_file_response(evidence: Evidence, *, inline: bool) -> FileResponse:
    """The stored file with the API download's headers: its type, a clean name, no sniffing, no script, no cache."""
    response = FileResponse(
        storage.open_stored(evidence.storage_name),
        as_attachment=not (inline and evidence.content_type in PREVIEWED),
        filename=safe_file_name(evidence.file_name, evidence.content_type),
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    # A PDF needs the browser's viewer, which a sandboxed answer may not start; it still loads nothing else.
    response["Content-Security-Policy"] = "default-src 'none'" + ("" if evidence.content_type == "application/pdf" and inline else "; sandbox")
    response["Cache-Control"] = "private, no-store"
    return response


def evidence_links(evidence: Evidence | None) -> str:
    """Open (preview) and Download links for an evidence file, as the evidence page and its review task show them."""
    if evidence is None:
        return "—"
    url = reverse("admin:learning_evidence_file", args=[quote(evidence.pk)])
    download = format_html('<a class="console-button secondary" href="{}" download>Download</a>', url)
    if evidence.content_type in PREVIEWED:
        return format_html('<a class="console-button" href="{}?inline=1" target="_blank" rel="noopener">Open</a> {}', url, download)
    return download


class EvidenceFileMixin(admin.ModelAdmin):
    """The evidence file and its preview on the page, behind the same checks as the API's download."""

    change_form_template = "admin/learning/evidence/change_form.html"

    def _evidence_of(self, obj: Any) -> Evidence | None:
        return obj

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        evidence = self._evidence_of(obj) if obj is not None else None
        extra = {
            "evidence_file": evidence,
            "evidence_links": evidence_links(evidence) if evidence else "",
            "evidence_url": reverse("admin:learning_evidence_file", args=[quote(evidence.pk)]) + "?inline=1" if evidence else "",
            "evidence_image": bool(evidence and evidence.content_type in PREVIEWED_IMAGES),
            "evidence_pdf": bool(evidence and evidence.content_type == "application/pdf"),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


@admin.register(Evidence)
class EvidenceAdmin(EvidenceFileMixin, TenantScopedAdmin):
    list_display = ("title", "learner", "kind", "content_type", "size", "status", "file_links", "tenant", "created_at")
    list_filter = ("tenant", "status", "kind")
    search_fields = ("title", "file_name", "learner__email", "learner__last_name")
    list_select_related = ("learner", "tenant")
    fields = ("tenant", "learner", "title", "kind", "course", "assessment", "file_name", "content_type", "size",
              "sha256", "status", "feedback", "uploaded_by", "reviewed_by", "reviewed_at", "created_at")
    readonly_fields = ("tenant", "learner", "course", "assessment", "file_name", "content_type", "size", "sha256",
                       "status", "feedback", "uploaded_by", "reviewed_by", "reviewed_at", "created_at")
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # files arrive through the upload API, which checks their size and bytes

    @admin.display(description="File")
    def file_links(self, evidence: Evidence) -> str:
        return evidence_links(evidence)

    def get_urls(self) -> list[Any]:
        return [
            path("<path:object_id>/file/", self.admin_site.admin_view(self.file_view), name="learning_evidence_file"),
            *super().get_urls(),
        ]

    @xframe_options_sameorigin
    def file_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        """The file itself (?inline=1: shown in the browser when it is an image or a PDF), to whoever may see the evidence."""
        evidence = self.get_object(request, unquote(object_id))  # the user's tenants only: another's is "not found"
        if evidence is None:
            raise Http404("Not found")
        if not self.has_view_permission(request, evidence):
            raise PermissionDenied
        try:
            return evidence_file_response(evidence, inline=request.GET.get("inline") == "1")
        except FileNotFoundError:
            raise Http404("The file is no longer stored") from None

    def save_model(self, request: HttpRequest, obj: Evidence, form: Any, change: bool) -> None:
        evidence_update(evidence=Evidence.objects.get(pk=obj.pk), values={k: form.cleaned_data[k] for k in ("title", "kind")})

    def delete_model(self, request: HttpRequest, obj: Evidence) -> None:
        evidence_delete(evidence=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for evidence in queryset:
            evidence_delete(evidence=evidence)

    @admin.action(description="Approve the selected evidence")
    def approve(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        _each(request, queryset, lambda e: evidence_review(evidence=e, status="approved", caller=_caller(request)))

    @admin.action(description="Reject the selected evidence")
    def reject(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        _each(request, queryset, lambda e: evidence_review(evidence=e, status="rejected", caller=_caller(request)))


@admin.register(Task)
class TaskAdmin(EvidenceFileMixin, ReadOnlyAdmin):
    list_display = ("title", "kind", "status", "learner", "evidence_file", "tenant", "created_at", "closed_at", "closed_by")
    list_filter = ("tenant", "status", "kind")
    search_fields = ("title",)
    list_select_related = ("learner", "tenant", "evidence")

    def _evidence_of(self, obj: Any) -> Evidence | None:
        return obj.evidence

    @admin.display(description="Evidence")
    def evidence_file(self, task: Task) -> str:
        return evidence_links(task.evidence)
    actions = ["approve_evidence", "reject_evidence"]

    def _review(self, request: HttpRequest, queryset: QuerySet[Any], decision: str) -> None:
        rows = [t.evidence for t in queryset.select_related("evidence") if t.evidence_id]
        _each(request, rows, lambda e: evidence_review(evidence=e, status=decision, caller=_caller(request)))

    @admin.action(description="Approve the evidence of the selected tasks (closes them)")
    def approve_evidence(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._review(request, queryset, "approved")

    @admin.action(description="Reject the evidence of the selected tasks (closes them)")
    def reject_evidence(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._review(request, queryset, "rejected")


class ModerationInline(admin.TabularInline):
    model = Moderation
    extra = 0
    can_delete = False
    fields = ("decision", "moderator_label", "comments", "supersedes", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ("learner", "course", "unit_standard", "outcome", "assessor_label", "assessed_on", "moderation_decision", "tenant")
    list_filter = ("tenant", "outcome", "moderation_decision")
    search_fields = ("unit_standard", "learner__email", "learner__last_name", "assessor_label")
    list_select_related = ("learner", "course", "tenant")
    inlines = [ModerationInline]
    actions = ["uphold", "overturn", "remoderate_uphold", "remoderate_overturn"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None  # the list (and its actions) but no edit form

    def _moderate(self, request: HttpRequest, queryset: QuerySet[Any], decision: str, *, remoderate: bool = False) -> None:
        caller = _caller(request)
        _each(request, queryset, lambda a: moderation_record(assessment=a, decision=decision, remoderate=remoderate, caller=caller))

    @admin.action(description="Moderate: uphold the selected assessments")
    def uphold(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._moderate(request, queryset, "upheld")

    @admin.action(description="Moderate: overturn the selected assessments")
    def overturn(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._moderate(request, queryset, "overturned")

    @admin.action(description="Re-moderate: uphold (replaces an earlier moderation, which is kept)")
    def remoderate_uphold(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._moderate(request, queryset, "upheld", remoderate=True)

    @admin.action(description="Re-moderate: overturn (replaces an earlier moderation, which is kept)")
    def remoderate_overturn(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._moderate(request, queryset, "overturned", remoderate=True)


@admin.register(Moderation)
class ModerationAdmin(ReadOnlyAdmin):
    list_display = ("assessment", "decision", "moderator_label", "supersedes", "tenant", "created_at")
    list_filter = ("tenant", "decision")
    list_select_related = ("assessment", "tenant")


@admin.register(Export)
class ExportAdmin(TenantScopedAdmin):
    list_display = ("id", "kind", "status", "rows", "total", "attempts", "error", "expires_at", "tenant", "created_at")
    list_filter = ("tenant", "status", "kind")
    list_select_related = ("tenant",)
    fields = ("tenant", "kind", "filters", "raw", "status", "rows", "total", "size", "error", "attempts", "requested_by",
              "started_at", "finished_at", "expires_at")
    readonly_fields = ("status", "rows", "total", "size", "error", "attempts", "requested_by", "started_at",
                       "finished_at", "expires_at")
    actions = ["expire_now", "restart"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "tenant", "kind", "filters", "raw") if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Export, form: Any, change: bool) -> None:
        if change:
            return
        created = export_request(tenant=obj.tenant, kind=obj.kind, filters=obj.filters or {}, raw=obj.raw, caller=_caller(request))
        obj.pk = created.pk

    @admin.action(description="Expire now (delete the file; the link stops working)")
    def expire_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        _each(request, queryset, lambda e: export_expire_now(export=e))

    @admin.action(description="Run again (failed or expired exports)")
    def restart(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        _each(request, queryset, lambda e: export_restart(export=e))


@admin.register(ExportPolicy)
class ExportPolicyAdmin(TenantScopedAdmin):
    list_display = ("tenant", "retention_hours", "updated_at")

    def save_model(self, request: HttpRequest, obj: ExportPolicy, form: Any, change: bool) -> None:
        export_policy_set(tenant=obj.tenant, retention_hours=obj.retention_hours)


class CredentialForm(forms.ModelForm):
    """Checks the values with the service's own rules, so a refusal is a form error, not a crash."""

    _FIELDS = {"name": "name", "expiresOn": "valid_until", "evidenceId": "evidence"}

    class Meta:
        model = Credential
        fields = ("tenant", "learner", "name", "topic", "issuer", "issued_on", "valid_until", "evidence")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        learner = cleaned.get("learner")
        if learner is not None:
            if cleaned.get("tenant") is not None and learner.tenant_id != cleaned["tenant"].pk:
                self.add_error("learner", "This learner belongs to another tenant")
            for field, reason in credential_errors(tenant_id=learner.tenant_id, learner_id=learner.pk, values=cleaned).items():
                self.add_error(self._FIELDS.get(field), reason)
        return cleaned


@admin.register(Credential)
class CredentialAdmin(TenantScopedAdmin):
    form = CredentialForm
    list_display = ("name", "learner", "issuer", "issued_on", "valid_until", "tenant")
    list_filter = ("tenant",)
    search_fields = ("name", "issuer", "learner__email", "learner__last_name")
    list_select_related = ("learner", "tenant")
    raw_id_fields = ("learner", "evidence")
    fields = ("tenant", "learner", "name", "topic", "issuer", "issued_on", "valid_until", "evidence")

    def save_model(self, request: HttpRequest, obj: Credential, form: Any, change: bool) -> None:
        values = {k: form.cleaned_data.get(k) for k in ("name", "topic", "issuer", "issued_on", "valid_until", "evidence")}
        values["topic"] = values["topic"] or ""
        values["issuer"] = values["issuer"] or ""
        if change:
            credential_update(credential=Credential.objects.get(pk=obj.pk), values=values)
        else:
            obj.pk = credential_create(tenant=obj.tenant, learner=obj.learner, **values).pk


@admin.register(OnboardingStep)
class OnboardingStepAdmin(TenantScopedAdmin):
    list_display = ("name", "site", "position", "tenant")
    list_filter = ("tenant",)
    search_fields = ("name",)

    def save_model(self, request: HttpRequest, obj: OnboardingStep, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        site = form.cleaned_data.get("site")
        obj.pk = onboarding_step_create(
            tenant=obj.tenant, name=obj.name, site_name=site.name if site else "", position=obj.position
        ).pk


@admin.register(OnboardingCompletion)
class OnboardingCompletionAdmin(ReadOnlyAdmin):
    tenant_field = "step__tenant"
    list_display = ("learner", "step", "completed_at", "completed_by", "undone_at", "undone_by")
    list_filter = ("step__tenant", "step")
    search_fields = ("learner__email", "learner__last_name", "step__name")
    list_select_related = ("learner", "step")
    actions = ["undo"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None

    @admin.action(description="Undo the selected completions")
    def undo(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        rows = queryset.filter(undone_at__isnull=True).select_related("step", "learner")
        _each(request, rows, lambda c: onboarding_undo(step=c.step, learner=c.learner, by=_caller(request).label))
