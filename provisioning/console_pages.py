"""Console pages for importing learners from a CSV file: upload, preview (nothing written), import with progress."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from learning.bulk import ROW_FIELDS
from provisioning.imports import MAX_IMPORT_ROWS, learner_import_cancel, learner_import_preview, learner_import_start
from provisioning.models import ImportStatus, LearnerImport
from skillhub.console.site import console_site
from skillhub.errors import ValidationFailed
from skillhub.ids import uuid_or_none
from tenants.console import ConsoleTenant, console_tenant


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, comma- or semicolon-separated, with a header row")


def _context(request: HttpRequest, scope: ConsoleTenant, title: str, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), "title": title, "scope": scope, "tenant": scope.tenant, "is_nav_sidebar_enabled": False, **extra}


def _import_url(job: LearnerImport) -> str:
    return f"{reverse('admin:learner_import_detail', args=[job.pk])}?tenant={job.tenant.slug}"


def learner_import_view(request: HttpRequest) -> HttpResponse:
    """Upload a CSV file to preview, and the tenant's recent imports."""
    scope = console_tenant(request)
    form = UploadForm()
    if request.method == "POST":
        if not scope.writable:
            raise PermissionDenied
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = learner_import_preview(
                    tenant=scope.tenant, file_name=upload.name or "", data=upload.read(), created_by=f"user:{request.user.get_username()}"
                )
            except ValidationFailed as exc:
                form.add_error("file", f"The file {exc.reason}")
            else:
                return HttpResponseRedirect(_import_url(job))
    recent = LearnerImport.objects.filter(tenant=scope.tenant).defer("rows").order_by("-created_at")[:20]
    context = _context(
        request, scope, "Import learners", form=form, recent=recent, columns=list(ROW_FIELDS), max_rows=MAX_IMPORT_ROWS,
        learners_url=reverse("admin:learning_learner_changelist"),
    )
    return TemplateResponse(request, "admin/console/learner_import.html", context)


def _job(request: HttpRequest, scope: ConsoleTenant, import_id: str) -> LearnerImport:
    pk = uuid_or_none(import_id)
    job = LearnerImport.objects.defer("rows").filter(tenant=scope.tenant, pk=pk).first() if pk else None
    if job is None:
        raise Http404("No such import")
    return job


def learner_import_detail_view(request: HttpRequest, import_id: str) -> HttpResponse:
    """The preview of an import (creates, updates, errors) before it runs; its progress while it runs."""
    scope = console_tenant(request)
    job = _job(request, scope, import_id)
    running = job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    context = _context(request, scope, f"Import {job.file_name}", job=job, running=running, back_url=f"{reverse('admin:learner_import')}?tenant={scope.tenant.slug}")
    return TemplateResponse(request, "admin/console/learner_import_detail.html", context)


@require_POST
def learner_import_action_view(request: HttpRequest, import_id: str, action: str) -> HttpResponse:
    """Start or discard a previewed import."""
    scope = console_tenant(request)
    if not scope.writable:
        raise PermissionDenied
    job = _job(request, scope, import_id)
    if action == "start":
        if learner_import_start(learner_import=job):
            messages.success(request, f"Importing {job.total:,} rows; this page shows the progress.")
        else:
            messages.warning(request, "This import was already started.")
        return HttpResponseRedirect(_import_url(job))
    if action == "discard":
        learner_import_cancel(learner_import=job)
        messages.info(request, "Import discarded; nothing was written.")
        return HttpResponseRedirect(f"{reverse('admin:learner_import')}?tenant={scope.tenant.slug}")
    raise Http404


console_site().register_page("learner-import/", learner_import_view, name="learner_import")
console_site().register_page("learner-import/<str:import_id>/", learner_import_detail_view, name="learner_import_detail")
console_site().register_page("learner-import/<str:import_id>/<str:action>/", learner_import_action_view, name="learner_import_action")
console_site().add_menu_link("Import learners", "learner_import", order=55)
