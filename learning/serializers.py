"""What the learning API answers with: courses and assignments (learners are in `learning.api`)."""
from __future__ import annotations

from rest_framework import serializers

from learning.models import AssignmentStatus, CourseStatus


class CourseOutput(serializers.Serializer):
    """A course as the API shows it."""

    id = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    title = serializers.CharField()
    topic = serializers.CharField(allow_null=True)
    category = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=CourseStatus.values)
    outline = serializers.JSONField(help_text="Modules, quiz and source facts of an authored draft; free-form")
    createdBy = serializers.CharField(allow_null=True)
    authoredFromNeed = serializers.CharField(allow_null=True)
    publishedAt = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class AssignmentOutput(serializers.Serializer):
    """An assignment (a learner enrolled in a course) as the API shows it."""

    id = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    learnerId = serializers.UUIDField()
    courseId = serializers.UUIDField()
    dueDate = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=AssignmentStatus.values)
    # Declared fields named like Field attributes are fine at run time (the metaclass collects them).
    source = serializers.CharField(allow_null=True)  # type: ignore[assignment]
    assignedBy = serializers.CharField(allow_null=True)
    completedAt = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
