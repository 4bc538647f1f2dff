"""Models of training management; imported by learning.models, so they belong to the `learning` app.

They name learning's models by string (\"learning.Course\"), so this module never imports learning.models back.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from learning.training.statuses import ClassStatus, EnrollmentStatus, LIVE_ENROLLMENT
from skillhub.ids import uuid7
from tenants.models import Tenant


class _Row(models.Model):
    """A tenant-owned row with a time-ordered id and timestamps."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["id"]


class Lesson(_Row):
    """One ordered lesson of a course: a body of text or a link."""

    course = models.ForeignKey("learning.Course", on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    link = models.URLField(max_length=1000, blank=True, default="")
    required = models.BooleanField(default=True)

    class Meta(_Row.Meta):
        indexes = [models.Index(fields=["course", "position"], name="lesson_course_position")]

    def __str__(self) -> str:
        return self.title

    @property
    def link_or_none(self) -> str | None:
        return self.link or None


class Quiz(_Row):
    """A course's quiz: questions with choices and a pass mark; a manual task makes an assessor grade it."""

    course = models.OneToOneField("learning.Course", on_delete=models.CASCADE, related_name="quiz")
    title = models.CharField(max_length=200)
    # [{"text": "…", "choices": ["…", "…"], "answer": <index of the right choice>}, …]
    questions = models.JSONField(default=list, blank=True)
    pass_mark = models.PositiveSmallIntegerField(default=70, help_text="percent of questions right")
    manual_task = models.TextField(blank=True, default="", help_text="Instructions of a task an assessor grades; empty = auto-graded")

    class Meta(_Row.Meta):
        verbose_name_plural = "quizzes"
        constraints = [models.CheckConstraint(condition=Q(pass_mark__lte=100), name="quiz_pass_mark_percent")]

    def __str__(self) -> str:
        return self.title

    @property
    def manual_task_or_none(self) -> str | None:
        return self.manual_task or None


class QuizAttemptStatus(models.TextChoices):
    PENDING_REVIEW = "pending_review", "Pending review"
    GRADED = "graded", "Graded"


class QuizAttempt(_Row):
    """A learner's attempt at a quiz within an assignment."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    assignment = models.ForeignKey("learning.Assignment", on_delete=models.CASCADE, related_name="quiz_attempts")
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="quiz_attempts")
    answers = models.JSONField(default=list, blank=True)
    score = models.DecimalField(max_digits=5, decimal_places=2)
    status = models.CharField(max_length=20, choices=QuizAttemptStatus.choices)
    passed = models.BooleanField(null=True, blank=True)
    task_response = models.TextField(blank=True, default="")
    task_passed = models.BooleanField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=200, blank=True, default="")
    review_comment = models.TextField(blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta(_Row.Meta):
        constraints = [
            # At most one attempt waits for an assessor, and at most one passes, per assignment.
            models.UniqueConstraint(fields=["assignment"], condition=Q(status="pending_review"), name="quiz_attempt_one_pending"),
            models.UniqueConstraint(fields=["assignment"], condition=Q(passed=True), name="quiz_attempt_one_passed"),
        ]
        indexes = [models.Index(fields=["tenant", "updated_at"], name="quiz_attempt_tenant_updated")]

    def __str__(self) -> str:
        return f"{self.quiz_id} by {self.learner_id}"


class LessonCompletion(_Row):
    """A lesson completed within an assignment; once per lesson and assignment."""

    assignment = models.ForeignKey("learning.Assignment", on_delete=models.CASCADE, related_name="lesson_completions")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="completions")
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="lesson_completions")
    completed_at = models.DateTimeField()

    class Meta(_Row.Meta):
        constraints = [models.UniqueConstraint(fields=["assignment", "lesson"], name="lesson_completion_once")]

    def __str__(self) -> str:
        return f"{self.lesson_id} in {self.assignment_id}"


class LearningPath(_Row):
    """An ordered series of courses."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    courses = models.ManyToManyField("learning.Course", through="PathCourse", related_name="paths")

    def __str__(self) -> str:
        return self.title


class PathCourse(models.Model):
    """A course at a position in a path."""

    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, related_name="path_courses")
    course = models.ForeignKey("learning.Course", on_delete=models.CASCADE, related_name="path_courses")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["path", "course"], name="path_course_once")]

    def __str__(self) -> str:
        return f"{self.path_id}#{self.position}"


class PathEnrollment(_Row):
    """A learner's enrollment in a path; completed when every course of the path is."""

    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, related_name="enrollments")
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="path_enrollments")
    source = models.CharField(max_length=80, blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta(_Row.Meta):
        constraints = [models.UniqueConstraint(fields=["path", "learner"], name="path_enrollment_once")]

    def __str__(self) -> str:
        return f"{self.learner_id} in {self.path_id}"


class TrainingClass(_Row):
    """A scheduled session of a course, with a capacity and document 002's class status."""

    course = models.ForeignKey("learning.Course", on_delete=models.CASCADE, related_name="classes")
    title = models.CharField(max_length=200, blank=True, default="")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=300, blank=True, default="")
    link = models.URLField(max_length=1000, blank=True, default="")
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="empty = no limit")
    instructor = models.CharField(max_length=200, blank=True, default="")
    status = models.PositiveSmallIntegerField(choices=ClassStatus.choices, default=ClassStatus.SCHEDULED)

    class Meta(_Row.Meta):
        verbose_name = "class"
        verbose_name_plural = "classes"
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="class_ends_after_start")]
        indexes = [models.Index(fields=["tenant", "updated_at"], name="class_tenant_updated")]

    def __str__(self) -> str:
        return self.title or f"class {self.pk}"


class ClassEnrollment(_Row):
    """A learner's place in a class, with document 002's enrollment status."""

    training_class = models.ForeignKey(TrainingClass, on_delete=models.CASCADE, related_name="enrollments")
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="class_enrollments")
    status = models.PositiveSmallIntegerField(choices=EnrollmentStatus.choices, default=EnrollmentStatus.ENROLL)
    # When it joined the waitlist: the first waiting is promoted first.
    waitlisted_at = models.DateTimeField(null=True, blank=True)

    class Meta(_Row.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["training_class", "learner"],
                condition=Q(status__in=sorted(LIVE_ENROLLMENT)),
                name="class_enrollment_one_live",
            )
        ]
        indexes = [models.Index(fields=["training_class", "status"], name="class_enrollment_class_status")]

    def __str__(self) -> str:
        return f"{self.learner_id} in {self.training_class_id}"


class Feedback(_Row):
    """A learner's rating (1–5) and comment on a course or a class."""

    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="feedback")
    course = models.ForeignKey("learning.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="feedback")
    training_class = models.ForeignKey(TrainingClass, on_delete=models.CASCADE, null=True, blank=True, related_name="feedback")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, default="")

    class Meta(_Row.Meta):
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5"),
            models.CheckConstraint(condition=Q(course__isnull=False) | Q(training_class__isnull=False), name="feedback_has_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 by {self.learner_id}"


class Achievement(_Row):
    """An achievement the tenant awards on completing a course or a path, or by hand."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    course = models.ForeignKey("learning.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="achievements")
    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, null=True, blank=True, related_name="achievements")

    class Meta(_Row.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="achievement_unique_name"),
            models.CheckConstraint(condition=Q(course__isnull=True) | Q(path__isnull=True), name="achievement_course_or_path"),
        ]

    def __str__(self) -> str:
        return self.name


class AchievementAward(_Row):
    """An achievement earned by a learner; once per achievement and learner."""

    achievement = models.ForeignKey(Achievement, on_delete=models.CASCADE, related_name="awards")
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="achievement_awards")
    reason = models.CharField(max_length=10, choices=[("course", "course"), ("path", "path"), ("manual", "manual")])
    awarded_by = models.CharField(max_length=200, blank=True, default="")

    class Meta(_Row.Meta):
        constraints = [models.UniqueConstraint(fields=["achievement", "learner"], name="achievement_award_once")]

    def __str__(self) -> str:
        return f"{self.achievement_id} → {self.learner_id}"


class Voucher(_Row):
    """A code that enrolls whoever redeems it in a course or a path, a limited number of times."""

    code = models.CharField(max_length=64)
    course = models.ForeignKey("learning.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="vouchers")
    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, null=True, blank=True, related_name="vouchers")
    uses_left = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(_Row.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="voucher_unique_code"),
            # Redemption decrements with a conditional UPDATE; the database refuses going below zero too.
            models.CheckConstraint(condition=Q(uses_left__gte=0), name="voucher_uses_left_not_negative"),
            models.CheckConstraint(
                condition=(Q(course__isnull=False) & Q(path__isnull=True)) | (Q(course__isnull=True) & Q(path__isnull=False)),
                name="voucher_course_xor_path",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class VoucherRedemption(_Row):
    """One learner's redemption of a voucher; once per voucher and learner."""

    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="redemptions")
    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="voucher_redemptions")

    class Meta(_Row.Meta):
        constraints = [models.UniqueConstraint(fields=["voucher", "learner"], name="voucher_redemption_once")]

    def __str__(self) -> str:
        return f"{self.voucher_id} by {self.learner_id}"


class PurchaseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FULFILLED = "fulfilled", "Fulfilled"


class Purchase(_Row):
    """An order for a course or a path placed in an external shop; fulfilling it enrolls the learner."""

    learner = models.ForeignKey("learning.Learner", on_delete=models.CASCADE, related_name="purchases")
    course = models.ForeignKey("learning.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="purchases")
    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, null=True, blank=True, related_name="purchases")
    external_order_id = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=PurchaseStatus.choices, default=PurchaseStatus.PENDING)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta(_Row.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_order_id"], name="purchase_unique_order"),
            models.CheckConstraint(
                condition=(Q(course__isnull=False) & Q(path__isnull=True)) | (Q(course__isnull=True) & Q(path__isnull=False)),
                name="purchase_course_xor_path",
            ),
        ]

    def __str__(self) -> str:
        return self.external_order_id


class TrainingSettings(models.Model):
    """A tenant's training settings: the assignment expiring window (document 002)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="training_settings")
    expiring_enabled = models.BooleanField(default=True)
    # `assignment.expiring` when an assignment has more than X and fewer than Y days left.
    expiring_more_than_days = models.PositiveSmallIntegerField(default=0)
    expiring_fewer_than_days = models.PositiveSmallIntegerField(default=8)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "training settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(expiring_fewer_than_days__gt=models.F("expiring_more_than_days") + 1), name="training_window_not_empty"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: ({self.expiring_more_than_days}, {self.expiring_fewer_than_days})"

__all__ = [
    "Lesson", "Quiz", "QuizAttempt", "QuizAttemptStatus", "LessonCompletion", "LearningPath", "PathCourse",
    "PathEnrollment", "TrainingClass", "ClassEnrollment", "Feedback", "Achievement", "AchievementAward", "Voucher",
    "VoucherRedemption", "Purchase", "PurchaseStatus", "TrainingSettings",
]
