"""The back office for learners, courses and assignments; writes go through the services."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from learning.models import Assignment, Course, CourseStatus, Learner
from learning.outline_forms import ModuleFormSet, OutlineHeadForm, QuestionFormSet, outline_from_forms, outline_initial, unready_questions
from learning.services import (
    assignment_complete,
    course_archive,
    course_create,
    course_publish,
    course_update,
    learner_create,
    learner_delete,
    learner_update,
)
from skillhub.errors import DomainError
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


class CourseDetailsForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 60}))
    topic = forms.CharField(max_length=200, required=False, widget=forms.TextInput(attrs={"size": 60}), help_text="What needs are matched on")
    category = forms.CharField(max_length=100, required=False)


@admin.register(Course)
class CourseAdmin(TenantScopedAdmin):
    """Courses, including drafts authored from training needs: a course page to edit lessons and quiz, then publish."""

    list_display = ("title", "topic", "category", "status_badge", "created_by", "tenant", "updated_at")
    list_filter = ("tenant", "status")
    list_select_related = ("tenant",)
    search_fields = ("title", "topic")
    fields = ("tenant", "title", "topic", "category", "status", "created_by", "authored_from_need", "published_at")
    readonly_fields = ("status", "created_by", "authored_from_need", "published_at")
    actions = ["publish"]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, course: Course) -> str:
        return format_html('<span class="status status-{}">{}</span>', course.status, course.get_status_display())

    def save_model(self, request: HttpRequest, obj: Course, form: Any, change: bool) -> None:
        values = {key: form.cleaned_data.get(key) for key in ("title", "topic", "category")}
        if change:
            course_update(course=Course.objects.get(pk=obj.pk), values=values)
        else:
            created = course_create(tenant=obj.tenant, created_by=f"user:{request.user.get_username()}", **values)
            obj.pk = created.pk

    def response_add(self, request: HttpRequest, obj: Course, post_url_continue: str | None = None) -> HttpResponse:
        # A new course opens on its own page, to write its lessons and quiz.
        return HttpResponseRedirect(reverse("admin:learning_course_change", args=[quote(obj.pk)]))

    @admin.action(description="Publish the selected courses")
    def publish(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        done = 0
        for course in self.writable(request, queryset):
            course_publish(course=course)
            done += 1
        messages.success(request, f"{done} course{'s' if done != 1 else ''} published")

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """The course page: details, the outline as modules, lessons and a quiz, and Publish / Archive."""
        course = self.get_object(request, unquote(object_id))
        if course is None:
            raise Http404("Not found")
        can_edit = self.has_change_permission(request, course)
        head_initial, modules_initial, questions_initial = outline_initial(course.outline)
        bound = request.method == "POST"
        if bound and not can_edit:
            raise PermissionDenied
        data = request.POST if bound else None
        details = CourseDetailsForm(data, initial={"title": course.title, "topic": course.topic, "category": course.category})
        head = OutlineHeadForm(data, initial=head_initial)
        modules = ModuleFormSet(data, initial=modules_initial, prefix="modules")
        questions = QuestionFormSet(data, initial=questions_initial, prefix="questions")
        if bound and all(form.is_valid() for form in (details, head, modules, questions)):
            outline = outline_from_forms(course.outline, head, modules, questions)
            unready = unready_questions(outline) if "publish" in request.POST else []
            try:
                course = course_update(course=course, values={**details.cleaned_data, "outline": outline})
                if unready:
                    numbers = ", ".join(str(n) for n in unready)
                    messages.error(request, f"Saved, not published: quiz question{'s' if len(unready) > 1 else ''} {numbers} need{'s' if len(unready) == 1 else ''} at least two options")
                    return HttpResponseRedirect(request.path)
                if "publish" in request.POST:
                    course = course_publish(course=course)
                elif "archive" in request.POST:
                    course = course_archive(course=course)
            except DomainError as exc:
                messages.error(request, f"Not saved: {exc.message}")
            else:
                done = {"publish": "saved and published: it can now be offered", "archive": "saved and archived: it is no longer offered"}
                verb = next((text for key, text in done.items() if key in request.POST), "saved")
                self.log_change(request, course, verb)
                messages.success(request, f"Course “{course.title}” {verb}")
                return HttpResponseRedirect(request.path)
        lessons = sum(len(m.get("lessons") or []) for m in (course.outline or {}).get("modules") or [] if isinstance(m, dict))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": course.title,
            "subtitle": course.get_status_display(),
            "course": course,
            "original": course,
            "details": details,
            "head": head,
            "modules": modules,
            "questions": questions,
            "lesson_count": lessons,
            "can_edit": can_edit,
            "is_draft": course.status == CourseStatus.DRAFT,
            "is_published": course.status == CourseStatus.PUBLISHED,
            "has_view_permission": True,
            "is_nav_sidebar_enabled": False,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/learning/course/course_page.html", context)


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
