"""The back office for learners, courses and assignments; writes go through the services."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from learning.models import Assignment, Course, Learner
from learning.services import (
    assignment_complete,
    course_create,
    course_publish,
    course_update,
    learner_create,
    learner_delete,
    learner_update,
)
from tenants.admin import TenantScopedAdmin

_EDITABLE = ("first_name", "last_name", "email", "external_worker_id", "sa_id_number", "role", "status")


@admin.register(Learner)
class LearnerAdmin(TenantScopedAdmin):
    list_display = ("first_name", "last_name", "email", "external_worker_id", "site", "status", "tenant", "updated_at")
    list_filter = ("tenant", "status", "site")
    list_select_related = ("site", "tenant")
    search_fields = ("first_name", "last_name", "email", "external_worker_id")
    fields = ("tenant", *_EDITABLE, "site", "groups")
    autocomplete_fields = ("site", "groups")
    show_full_result_count = False

    def autocomplete_label(self, learner: Learner) -> str:
        """Names repeat: say which person (worker id or email) wherever a learner is picked."""
        who = learner.external_worker_id or learner.email
        return " · ".join(part for part in (str(learner), who) if part)

    def save_model(self, request: HttpRequest, obj: Learner, form: Any, change: bool) -> None:
        values = {field: form.cleaned_data.get(field) for field in _EDITABLE if field in form.cleaned_data}
        site = form.cleaned_data.get("site")
        values["site"] = site.name if site else None
        if change:
            learner_update(learner=Learner.objects.get(pk=obj.pk), values=values)
        else:
            created = learner_create(tenant=obj.tenant, values=values)
            obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        learner = Learner.objects.get(pk=form.instance.pk)
        learner_update(learner=learner, values={"groups": [g.pk for g in form.cleaned_data.get("groups", [])]})

    def delete_model(self, request: HttpRequest, obj: Learner) -> None:
        learner_delete(learner=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for learner in self.writable(request, queryset):
            learner_delete(learner=learner)


@admin.register(Course)
class CourseAdmin(TenantScopedAdmin):
    """Courses, including drafts authored from training needs: edit the outline, then publish."""

    list_display = ("title", "topic", "category", "status", "created_by", "tenant", "updated_at")
    list_filter = ("tenant", "status")
    list_select_related = ("tenant",)
    search_fields = ("title", "topic")
    fields = ("tenant", "title", "topic", "category", "outline", "status", "created_by", "authored_from_need", "published_at")
    readonly_fields = ("status", "created_by", "authored_from_need", "published_at")
    actions = ["publish"]

    def save_model(self, request: HttpRequest, obj: Course, form: Any, change: bool) -> None:
        values = {key: form.cleaned_data.get(key) for key in ("title", "topic", "category", "outline")}
        if change:
            course_update(course=Course.objects.get(pk=obj.pk), values=values)
        else:
            created = course_create(tenant=obj.tenant, created_by=f"user:{request.user.get_username()}", **values)
            obj.pk = created.pk

    @admin.action(description="Publish the selected courses")
    def publish(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for course in self.writable(request, queryset):
            course_publish(course=course)


@admin.register(Assignment)
class AssignmentAdmin(TenantScopedAdmin):
    list_display = ("course", "learner", "status", "due_date", "source", "tenant")
    list_filter = ("tenant", "status")
    list_select_related = ("course", "learner", "tenant")
    search_fields = ("learner__first_name", "learner__last_name", "learner__email", "course__title")
    date_hierarchy = "due_date"
    show_full_result_count = False
    readonly_fields = ("tenant", "learner", "course", "due_date", "status", "source", "assigned_by", "completed_at")
    actions = ["complete"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark completed")
    def complete(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for assignment in self.writable(request, queryset):
            assignment_complete(assignment=assignment)


from learning.evidence import admin as evidence_admin  # noqa: E402, F401  (skills evidence, credentials, onboarding)


from learning.training import admin as training_admin  # noqa: E402, F401  (registers the training models)
