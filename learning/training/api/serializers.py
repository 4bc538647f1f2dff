"""The training resources as the API shows them (output) and takes them (input, unknown fields refused)."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from learning.training.statuses import ClassStatus, EnrollmentStatus, status_json
from skillhub.api.serializers import StrictSerializer


class _Out(serializers.Serializer):
    id = serializers.UUIDField()
    tenantId = serializers.UUIDField(source="tenant_id")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class StatusCodeSerializer(serializers.Serializer):
    """A document 002 status: its number and its name."""

    code = serializers.IntegerField()
    name = serializers.CharField()


class _StatusField(serializers.Field):
    def __init__(self, choices: Any, **kwargs: Any) -> None:
        self.choices = choices
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> Any:
        return status_json(self.choices, value)


# drf-spectacular reads the field's shape from here.
from drf_spectacular.extensions import OpenApiSerializerFieldExtension  # noqa: E402


class _StatusFieldSchema(OpenApiSerializerFieldExtension):
    target_class = _StatusField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        return auto_schema._map_serializer(StatusCodeSerializer, direction)


class CourseSerializer(serializers.Serializer):
    """A course (as `GET …/courses/{id}` returns it)."""

    id = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    title = serializers.CharField()
    topic = serializers.CharField(allow_null=True)
    category = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["draft", "published", "archived"])
    outline = serializers.JSONField()
    createdBy = serializers.CharField(allow_null=True)
    authoredFromNeed = serializers.CharField(allow_null=True)
    publishedAt = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


# --- lessons and quizzes ------------------------------------------------------------------


class LessonSerializer(_Out):
    """A lesson of a course, at its position."""

    courseId = serializers.UUIDField(source="course_id")
    position = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    link = serializers.CharField(allow_null=True, source="link_or_none")
    required = serializers.BooleanField()  # type: ignore[assignment]  # a declared field named like Field.required


class LessonInputSerializer(StrictSerializer):
    courseId = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    link = serializers.URLField(required=False, allow_blank=True, allow_null=True, max_length=1000)
    position = serializers.IntegerField(required=False, min_value=0, max_value=100_000)
    required = serializers.BooleanField(required=False, default=True)  # type: ignore[assignment]


class QuestionSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    choices = serializers.ListField(child=serializers.CharField(max_length=500), min_length=2, max_length=20)
    answer = serializers.IntegerField(min_value=0, help_text="index of the right choice")


class QuizSerializer(_Out):
    """A course's quiz; `manualTask` (when set) is graded by an assessor before the attempt counts."""

    courseId = serializers.UUIDField(source="course_id")
    title = serializers.CharField()
    questions = QuestionSerializer(many=True)
    passMark = serializers.IntegerField(source="pass_mark", help_text="percent")
    manualTask = serializers.CharField(allow_null=True, source="manual_task_or_none")


class QuizInputSerializer(StrictSerializer):
    courseId = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=200)
    questions = serializers.ListField(child=serializers.JSONField(), required=False, max_length=200)
    passMark = serializers.IntegerField(required=False, min_value=0, max_value=100)
    manualTask = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20_000)


class QuizAttemptSerializer(_Out):
    """An attempt at a quiz; `passed` is null while the manual task waits for an assessor."""

    quizId = serializers.UUIDField(source="quiz_id")
    courseId = serializers.UUIDField(source="quiz.course_id")
    assignmentId = serializers.UUIDField(source="assignment_id")
    learnerId = serializers.UUIDField(source="learner_id")
    answers = serializers.ListField(child=serializers.IntegerField())
    score = serializers.FloatField(help_text="percent of questions right")
    status = serializers.ChoiceField(choices=["pending_review", "graded"])
    passed = serializers.BooleanField(allow_null=True)
    taskResponse = serializers.CharField(source="task_response")
    taskPassed = serializers.BooleanField(allow_null=True, source="task_passed")
    reviewedBy = serializers.CharField(source="reviewed_by")
    reviewComment = serializers.CharField(source="review_comment")
    completedAt = serializers.DateTimeField(allow_null=True, source="completed_at")


class QuizAttemptInputSerializer(StrictSerializer):
    answers = serializers.ListField(child=serializers.JSONField(), max_length=200, help_text="one choice index per question")
    taskResponse = serializers.CharField(required=False, allow_blank=True, max_length=20_000)


class QuizGradeInputSerializer(StrictSerializer):
    taskPassed = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class LessonProgressSerializer(serializers.Serializer):
    lessonId = serializers.UUIDField()
    title = serializers.CharField()
    position = serializers.IntegerField()
    required = serializers.BooleanField()  # type: ignore[assignment]  # a declared field named like Field.required
    completedAt = serializers.DateTimeField(allow_null=True)


class ProgressSerializer(serializers.Serializer):
    """What a learner has done in an assignment."""

    assignmentId = serializers.UUIDField()
    status = serializers.CharField()
    startedAt = serializers.DateTimeField(allow_null=True)
    completedAt = serializers.DateTimeField(allow_null=True)
    lessons = LessonProgressSerializer(many=True)
    quizId = serializers.UUIDField(allow_null=True)
    quizPassed = serializers.BooleanField()
    attempts = QuizAttemptSerializer(many=True)


class LessonCompletionSerializer(serializers.Serializer):
    """A lesson completed within an assignment; `created` is false when it already was."""

    lessonId = serializers.UUIDField(source="lesson_id")
    assignmentId = serializers.UUIDField(source="assignment_id")
    learnerId = serializers.UUIDField(source="learner_id")
    completedAt = serializers.DateTimeField(source="completed_at")
    assignmentStatus = serializers.CharField(source="assignment.status")


# --- paths --------------------------------------------------------------------------------


class PathSerializer(_Out):
    """A learning path: its courses in order."""

    title = serializers.CharField()
    description = serializers.CharField()
    courseIds = serializers.SerializerMethodField()

    def get_courseIds(self, path: Any) -> list[str]:  # noqa: N802
        return [str(pc.course_id) for pc in sorted(path.path_courses.all(), key=lambda pc: (pc.position, pc.pk))]


class PathInputSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    courseIds = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=200)


class PathEnrollmentSerializer(_Out):
    """A learner's enrollment in a path; `completedAt` once every course is completed."""

    pathId = serializers.UUIDField(source="path_id")
    learnerId = serializers.UUIDField(source="learner_id")
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field named like Field.source
    enrolledAt = serializers.DateTimeField(source="created_at")
    completedAt = serializers.DateTimeField(allow_null=True, source="completed_at")


class PathEnrollmentInputSerializer(StrictSerializer):
    pathId = serializers.CharField(max_length=64)
    learnerId = serializers.CharField(max_length=64)


# --- classes ------------------------------------------------------------------------------


class ClassSerializer(_Out):
    """A scheduled session of a course, with document 002's class status."""

    courseId = serializers.UUIDField(source="course_id")
    title = serializers.CharField()
    startsAt = serializers.DateTimeField(source="starts_at")
    endsAt = serializers.DateTimeField(source="ends_at")
    location = serializers.CharField()
    link = serializers.CharField()
    capacity = serializers.IntegerField(allow_null=True)
    instructor = serializers.CharField()
    status = _StatusField(ClassStatus)


class ClassInputSerializer(StrictSerializer):
    courseId = serializers.CharField(max_length=64)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    startsAt = serializers.DateTimeField()
    endsAt = serializers.DateTimeField()
    location = serializers.CharField(required=False, allow_blank=True, max_length=300)
    link = serializers.URLField(required=False, allow_blank=True, max_length=1000)
    capacity = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1_000_000)
    instructor = serializers.CharField(required=False, allow_blank=True, max_length=200)
    status = serializers.JSONField(required=False, help_text="code or name; Scheduled (default), Tentative, Requested or Guaranteed To Run")


class StatusInputSerializer(StrictSerializer):
    status = serializers.JSONField(help_text="the new status: its code (e.g. 2) or its name (e.g. \"Cancelled\")")


class ClassEnrollmentSerializer(_Out):
    """A learner's place in a class, with document 002's enrollment status."""

    classId = serializers.UUIDField(source="training_class_id")
    learnerId = serializers.UUIDField(source="learner_id")
    status = _StatusField(EnrollmentStatus)
    waitlistedAt = serializers.DateTimeField(allow_null=True, source="waitlisted_at")


class ClassEnrollmentInputSerializer(StrictSerializer):
    classId = serializers.CharField(max_length=64)
    learnerId = serializers.CharField(max_length=64)
    status = serializers.JSONField(required=False, help_text="Enroll (default), Request, Approve or Audit; a full class waitlists")


# --- feedback and achievements ------------------------------------------------------------


class FeedbackSerializer(_Out):
    """A learner's rating and comment on a course or a class."""

    learnerId = serializers.UUIDField(source="learner_id")
    courseId = serializers.UUIDField(allow_null=True, source="course_id")
    classId = serializers.UUIDField(allow_null=True, source="training_class_id")
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField()


class FeedbackInputSerializer(StrictSerializer):
    learnerId = serializers.CharField(max_length=64)
    courseId = serializers.CharField(required=False, allow_null=True, max_length=64)
    classId = serializers.CharField(required=False, allow_null=True, max_length=64)
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class AchievementSerializer(_Out):
    """An achievement: earned on completing its course or path, or awarded by hand when it has neither."""

    name = serializers.CharField()
    description = serializers.CharField()
    courseId = serializers.UUIDField(allow_null=True, source="course_id")
    pathId = serializers.UUIDField(allow_null=True, source="path_id")


class AchievementInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    courseId = serializers.CharField(required=False, allow_null=True, max_length=64)
    pathId = serializers.CharField(required=False, allow_null=True, max_length=64)


class AchievementAwardSerializer(_Out):
    """An achievement earned by a learner."""

    achievementId = serializers.UUIDField(source="achievement_id")
    learnerId = serializers.UUIDField(source="learner_id")
    name = serializers.CharField(source="achievement.name")
    reason = serializers.ChoiceField(choices=["course", "path", "manual"])
    earnedAt = serializers.DateTimeField(source="created_at")


class AchievementAwardInputSerializer(StrictSerializer):
    achievementId = serializers.CharField(max_length=64)
    learnerId = serializers.CharField(max_length=64)


# --- vouchers and purchases ---------------------------------------------------------------


class VoucherSerializer(_Out):
    """A code that enrolls in a course or a path, `usesLeft` more times, until `expiresAt`."""

    code = serializers.CharField()
    courseId = serializers.UUIDField(allow_null=True, source="course_id")
    pathId = serializers.UUIDField(allow_null=True, source="path_id")
    usesLeft = serializers.IntegerField(source="uses_left")
    expiresAt = serializers.DateTimeField(allow_null=True, source="expires_at")


class VoucherInputSerializer(StrictSerializer):
    code = serializers.CharField(max_length=64)
    courseId = serializers.CharField(required=False, allow_null=True, max_length=64)
    pathId = serializers.CharField(required=False, allow_null=True, max_length=64)
    usesLeft = serializers.IntegerField(required=False, default=1, min_value=0, max_value=10_000_000)
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)


class VoucherUpdateSerializer(StrictSerializer):
    usesLeft = serializers.IntegerField(required=False, min_value=0, max_value=10_000_000)
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)


class VoucherRedeemInputSerializer(StrictSerializer):
    code = serializers.CharField(max_length=64)
    learnerId = serializers.CharField(max_length=64)


class PurchaseSerializer(_Out):
    """An external order for a course or a path; fulfilling it enrolls the learner."""

    learnerId = serializers.UUIDField(source="learner_id")
    courseId = serializers.UUIDField(allow_null=True, source="course_id")
    pathId = serializers.UUIDField(allow_null=True, source="path_id")
    externalOrderId = serializers.CharField(source="external_order_id")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "fulfilled"])
    fulfilledAt = serializers.DateTimeField(allow_null=True, source="fulfilled_at")


class PurchaseInputSerializer(StrictSerializer):
    learnerId = serializers.CharField(max_length=64)
    courseId = serializers.CharField(required=False, allow_null=True, max_length=64)
    pathId = serializers.CharField(required=False, allow_null=True, max_length=64)
    externalOrderId = serializers.CharField(max_length=100)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField(min_length=3, max_length=3)
    fulfil = serializers.BooleanField(required=False, default=False, help_text="fulfil at once (enrolls the learner)")


# --- settings -----------------------------------------------------------------------------


class ExpiringWindowSerializer(serializers.Serializer):
    moreThanDays = serializers.IntegerField(min_value=0, max_value=366)
    fewerThanDays = serializers.IntegerField(min_value=0, max_value=366)


class TrainingSettingsSerializer(serializers.Serializer):
    """The tenant's expiring window: `assignment.expiring` when more than X and fewer than Y days are left."""

    expiringEnabled = serializers.BooleanField()
    expiringWindow = ExpiringWindowSerializer()


class TrainingSettingsInputSerializer(StrictSerializer):
    expiringEnabled = serializers.BooleanField(required=False, default=True)
    expiringWindow = ExpiringWindowSerializer()
