"""The back office for learners; saves and deletes go through the services."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from learning.models import Learner
from learning.services import learner_create, learner_delete, learner_update
from tenants.admin import TenantScopedAdmin

_EDITABLE = ("first_name", "last_name", "email", "external_worker_id", "sa_id_number", "role", "status")


@admin.register(Learner)
class LearnerAdmin(TenantScopedAdmin):
    list_display = ("first_name", "last_name", "email", "external_worker_id", "site", "status", "tenant", "updated_at")
    list_filter = ("tenant", "status")
    search_fields = ("first_name", "last_name", "email", "external_worker_id")
    fields = ("tenant", *_EDITABLE, "site", "groups")
    autocomplete_fields = ()
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Learner, form, change: bool) -> None:  # noqa: ANN001
        values = {field: form.cleaned_data.get(field) for field in _EDITABLE if field in form.cleaned_data}
        site = form.cleaned_data.get("site")
        values["site"] = site.name if site else None
        if change:
            learner_update(learner=Learner.objects.get(pk=obj.pk), values=values)
        else:
            created = learner_create(tenant=obj.tenant, values=values)
            obj.pk = created.pk

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:  # noqa: ANN001
        learner = Learner.objects.get(pk=form.instance.pk)
        learner_update(learner=learner, values={"groups": [g.pk for g in form.cleaned_data.get("groups", [])]})

    def delete_model(self, request: HttpRequest, obj: Learner) -> None:
        learner_delete(learner=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        for learner in queryset:
            learner_delete(learner=learner)
