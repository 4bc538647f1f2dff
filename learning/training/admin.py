"""The back office for training management; every write and action goes through the services."""
from __future__ import annotations

from typing import Any, Callable

from django.contrib import admin, messages
from django.http import HttpRequest

from learning.training.models import (
    Achievement,
    AchievementAward,
    ClassEnrollment,
    Feedback,
    LearningPath,
    Lesson,
    LessonCompletion,
    PathCourse,
    PathEnrollment,
    Purchase,
    Quiz,
    QuizAttempt,
    TrainingClass,
    TrainingSettings,
    Voucher,
    VoucherRedemption,
)
from learning.training.services import classes, commerce, content, engagement, lifecycle, paths, progress
from learning.training.statuses import ClassStatus, EnrollmentStatus
from skillhub.errors import DomainError
from tenants.admin import TenantScopedAdmin


def _each(request: HttpRequest, queryset: Any, action: Callable[[Any], Any]) -> None:
    """Run a service on every selected row; a refused one is reported, the others go on."""
    done = 0
    for row in queryset:
        try:
            action(row)
            done += 1
        except DomainError as exc:
            messages.error(request, f"{row}: {exc.message}")
    if done:
        messages.success(request, f"{done} done")


class RecordAdmin(TenantScopedAdmin):
    """Rows the services write as a consequence of other actions: shown, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _values(form: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: form.cleaned_data[f] for f in fields if f in form.cleaned_data}


@admin.register(Lesson)
class LessonAdmin(TenantScopedAdmin):
    list_display = ("title", "course", "position", "required", "tenant", "updated_at")
    list_filter = ("tenant", "required")
    search_fields = ("title", "course__title")
    list_select_related = ("course", "tenant")
    raw_id_fields = ("course",)
    fields = ("tenant", "course", "position", "title", "body", "link", "required")
    _editable = ("position", "title", "body", "link", "required")

    def save_model(self, request: HttpRequest, obj: Lesson, form: Any, change: bool) -> None:
        if change:
            content.lesson_update(lesson=Lesson.objects.get(pk=obj.pk), values=_values(form, self._editable))
        else:
            obj.pk = content.lesson_create(tenant=obj.tenant, course=obj.course, values=_values(form, self._editable)).pk

    def delete_model(self, request: HttpRequest, obj: Lesson) -> None:
        content.lesson_delete(lesson=obj)


@admin.register(Quiz)
class QuizAdmin(TenantScopedAdmin):
    list_display = ("title", "course", "pass_mark", "tenant", "updated_at")
    list_filter = ("tenant",)
    search_fields = ("title", "course__title")
    list_select_related = ("course", "tenant")
    raw_id_fields = ("course",)
    fields = ("tenant", "course", "title", "questions", "pass_mark", "manual_task")
    _editable = ("title", "questions", "pass_mark", "manual_task")

    def save_model(self, request: HttpRequest, obj: Quiz, form: Any, change: bool) -> None:
        if change:
            content.quiz_update(quiz=Quiz.objects.get(pk=obj.pk), values=_values(form, self._editable))
        else:
            obj.pk = content.quiz_create(tenant=obj.tenant, course=obj.course, values=_values(form, self._editable)).pk


@admin.register(QuizAttempt)
class QuizAttemptAdmin(RecordAdmin):
    """The assessors' queue: filter on Pending review, read the task response, grade it."""

    list_display = ("quiz", "learner", "score", "status", "passed", "task_passed", "reviewed_by", "created_at")
    list_filter = ("tenant", "status", "passed")
    search_fields = ("learner__email", "quiz__title")
    list_select_related = ("quiz", "learner")
    actions = ["grade_passed", "grade_failed"]

    def _grade(self, request: HttpRequest, queryset: Any, passed: bool) -> None:
        reviewer = f"user:{request.user.get_username()}"
        _each(request, queryset, lambda a: progress.quiz_attempt_grade(attempt=a, task_passed=passed, reviewer=reviewer))

    @admin.action(description="Grade the manual task: passed")
    def grade_passed(self, request: HttpRequest, queryset: Any) -> None:
        self._grade(request, queryset, True)

    @admin.action(description="Grade the manual task: failed")
    def grade_failed(self, request: HttpRequest, queryset: Any) -> None:
        self._grade(request, queryset, False)


@admin.register(LessonCompletion)
class LessonCompletionAdmin(RecordAdmin):
    list_display = ("lesson", "learner", "assignment", "completed_at")
    list_filter = ("tenant",)
    list_select_related = ("lesson", "learner")


class PathCourseInline(admin.TabularInline):
    model = PathCourse
    extra = 0
    can_delete = False
    readonly_fields = ("course", "position")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LearningPath)
class LearningPathAdmin(TenantScopedAdmin):
    """Paths; their courses are set over the API (`courseIds`) and shown here in order."""

    list_display = ("title", "tenant", "updated_at")
    list_filter = ("tenant",)
    search_fields = ("title",)
    fields = ("tenant", "title", "description")
    inlines = [PathCourseInline]

    def save_model(self, request: HttpRequest, obj: LearningPath, form: Any, change: bool) -> None:
        values = _values(form, ("title", "description"))
        if change:
            paths.path_update(path=LearningPath.objects.get(pk=obj.pk), values=values)
        else:
            obj.pk = paths.path_create(tenant=obj.tenant, values=values, courses=[]).pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None


@admin.register(PathEnrollment)
class PathEnrollmentAdmin(RecordAdmin):
    list_display = ("path", "learner", "source", "created_at", "completed_at")
    list_filter = ("tenant",)
    list_select_related = ("path", "learner")
    actions = ["complete"]

    @admin.action(description="Mark completed (external completion)")
    def complete(self, request: HttpRequest, queryset: Any) -> None:
        _each(request, queryset, lambda e: paths.path_enrollment_complete(enrollment=e))


@admin.register(TrainingClass)
class TrainingClassAdmin(TenantScopedAdmin):
    list_display = ("__str__", "course", "starts_at", "capacity", "instructor", "status", "tenant")
    list_filter = ("tenant", "status")
    search_fields = ("title", "course__title", "instructor", "location")
    list_select_related = ("course", "tenant")
    raw_id_fields = ("course",)
    fields = ("tenant", "course", "title", "starts_at", "ends_at", "location", "link", "capacity", "instructor", "status")
    readonly_fields = ("status",)
    actions = ["guarantee", "cancel", "complete"]
    _editable = ("title", "starts_at", "ends_at", "location", "link", "capacity", "instructor")

    def save_model(self, request: HttpRequest, obj: TrainingClass, form: Any, change: bool) -> None:
        values = _values(form, self._editable)
        if change:
            classes.class_update(training_class=TrainingClass.objects.get(pk=obj.pk), values=values)
        else:
            obj.pk = classes.class_create(tenant=obj.tenant, course=obj.course, values=values).pk

    def delete_model(self, request: HttpRequest, obj: TrainingClass) -> None:
        classes.class_delete(training_class=obj)

    def _move(self, request: HttpRequest, queryset: Any, status: int) -> None:
        _each(request, queryset, lambda c: classes.class_set_status(training_class=c, status=status))

    @admin.action(description="Guaranteed To Run (1)")
    def guarantee(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, ClassStatus.GUARANTEED_TO_RUN)

    @admin.action(description="Cancel (2), cancelling its enrollments")
    def cancel(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, ClassStatus.CANCELLED)

    @admin.action(description="Completed (7)")
    def complete(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, ClassStatus.COMPLETED)


@admin.register(ClassEnrollment)
class ClassEnrollmentAdmin(RecordAdmin):
    list_display = ("learner", "training_class", "status", "waitlisted_at", "updated_at")
    list_filter = ("tenant", "status")
    search_fields = ("learner__email", "learner__last_name")
    list_select_related = ("learner", "training_class")
    actions = ["approve", "enroll", "deny", "cancel"]

    def _move(self, request: HttpRequest, queryset: Any, status: int) -> None:
        _each(request, queryset, lambda e: classes.enrollment_set_status(enrollment=e, status=status))

    @admin.action(description="Approve (30)")
    def approve(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, EnrollmentStatus.APPROVE)

    @admin.action(description="Enroll (60)")
    def enroll(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, EnrollmentStatus.ENROLL)

    @admin.action(description="Deny (40)")
    def deny(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, EnrollmentStatus.DENY)

    @admin.action(description="Cancel (10), promoting the first waiting")
    def cancel(self, request: HttpRequest, queryset: Any) -> None:
        self._move(request, queryset, EnrollmentStatus.CANCEL)


@admin.register(Feedback)
class FeedbackAdmin(RecordAdmin):
    list_display = ("learner", "course", "training_class", "rating", "created_at")
    list_filter = ("tenant", "rating")
    search_fields = ("comment", "learner__email")
    list_select_related = ("learner", "course", "training_class")

    def delete_model(self, request: HttpRequest, obj: Feedback) -> None:
        engagement.feedback_delete(feedback=obj)


@admin.register(Achievement)
class AchievementAdmin(TenantScopedAdmin):
    list_display = ("name", "course", "path", "tenant")
    list_filter = ("tenant",)
    search_fields = ("name",)
    list_select_related = ("course", "path", "tenant")
    raw_id_fields = ("course", "path")
    fields = ("tenant", "name", "description", "course", "path")
    _editable = ("name", "description", "course", "path")

    def save_model(self, request: HttpRequest, obj: Achievement, form: Any, change: bool) -> None:
        values = _values(form, self._editable)
        if change:
            engagement.achievement_update(achievement=Achievement.objects.get(pk=obj.pk), values=values)
        else:
            obj.pk = engagement.achievement_create(tenant=obj.tenant, values=values).pk


@admin.register(AchievementAward)
class AchievementAwardAdmin(RecordAdmin):
    list_display = ("achievement", "learner", "reason", "awarded_by", "created_at")
    list_filter = ("tenant", "reason")
    list_select_related = ("achievement", "learner")


@admin.register(Voucher)
class VoucherAdmin(TenantScopedAdmin):
    list_display = ("code", "course", "path", "uses_left", "expires_at", "tenant")
    list_filter = ("tenant",)
    search_fields = ("code",)
    list_select_related = ("course", "path", "tenant")
    raw_id_fields = ("course", "path")
    fields = ("tenant", "code", "course", "path", "uses_left", "expires_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("tenant", "code", "course", "path") if obj else ()

    def save_model(self, request: HttpRequest, obj: Voucher, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            commerce.voucher_update(voucher=Voucher.objects.get(pk=obj.pk), uses_left=data["uses_left"], expires_at=data["expires_at"])
        else:
            obj.pk = commerce.voucher_create(
                tenant=obj.tenant, code=data["code"], course=data.get("course"), path=data.get("path"),
                uses_left=data["uses_left"], expires_at=data.get("expires_at"),
            ).pk


@admin.register(VoucherRedemption)
class VoucherRedemptionAdmin(RecordAdmin):
    list_display = ("voucher", "learner", "created_at")
    list_filter = ("tenant",)
    list_select_related = ("voucher", "learner")


@admin.register(Purchase)
class PurchaseAdmin(RecordAdmin):
    list_display = ("external_order_id", "learner", "course", "path", "amount", "currency", "status", "fulfilled_at")
    list_filter = ("tenant", "status", "currency")
    search_fields = ("external_order_id", "learner__email")
    list_select_related = ("learner", "course", "path")
    actions = ["fulfil"]

    @admin.action(description="Fulfil (enrolls the learner)")
    def fulfil(self, request: HttpRequest, queryset: Any) -> None:
        _each(request, queryset, lambda p: commerce.purchase_fulfil(purchase=p))


@admin.register(TrainingSettings)
class TrainingSettingsAdmin(TenantScopedAdmin):
    """The expiring window per tenant (document 002): more than X and fewer than Y days before the due date."""

    list_display = ("tenant", "expiring_enabled", "expiring_more_than_days", "expiring_fewer_than_days", "updated_at")
    fields = ("tenant", "expiring_enabled", "expiring_more_than_days", "expiring_fewer_than_days")

    def save_model(self, request: HttpRequest, obj: TrainingSettings, form: Any, change: bool) -> None:
        data = form.cleaned_data
        lifecycle.training_settings_set(
            tenant=obj.tenant,
            more_than_days=data["expiring_more_than_days"],
            fewer_than_days=data["expiring_fewer_than_days"],
            enabled=data["expiring_enabled"],
        )
