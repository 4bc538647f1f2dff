"""Input and output serializers of the skills-evidence API (outputs describe the answers in OpenAPI)."""
from __future__ import annotations

from rest_framework import serializers

from learning.evidence.models import EvidenceKind, ExportKind, ModerationDecision, Outcome
from skillhub.api.serializers import StrictSerializer

# Enumerations are plain strings with their values in the description: several resources have a
# `status` or `kind`, and same-named enums would collide among the OpenAPI components.


def _one_of(values: list[str]) -> str:
    return " | ".join(values)


class EvidenceUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="The evidence file (multipart); its type is recognised from its bytes")
    learnerId = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=EvidenceKind.values, required=False, default=EvidenceKind.DOCUMENT)
    courseId = serializers.CharField(max_length=64, required=False, allow_blank=True)
    assessmentId = serializers.CharField(max_length=64, required=False, allow_blank=True)


def _review_decision(value: str) -> None:
    if value not in ("approved", "rejected"):
        raise serializers.ValidationError("must be one of approved, rejected")


class EvidenceReviewSerializer(StrictSerializer):
    # A plain string: a `status` enum here would collide with the learners' in the OpenAPI components.
    status = serializers.CharField(validators=[_review_decision], help_text="approved | rejected")
    feedback = serializers.CharField(max_length=5000, required=False, allow_blank=True, allow_null=True)


class EvidenceOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    learnerId = serializers.UUIDField()
    title = serializers.CharField()
    kind = serializers.CharField(help_text=_one_of(EvidenceKind.values))
    courseId = serializers.UUIDField(allow_null=True)
    assessmentId = serializers.UUIDField(allow_null=True)
    fileName = serializers.CharField()
    contentType = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    status = serializers.CharField(help_text="submitted | approved | rejected")
    feedback = serializers.CharField(allow_null=True)
    uploadedBy = serializers.CharField(allow_null=True)
    reviewedBy = serializers.CharField(allow_null=True)
    reviewedAt = serializers.DateTimeField(allow_null=True)
    downloadUrl = serializers.URLField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class TaskOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text="evidence_review (closed by reviewing the evidence) | quiz_review (closed by grading the attempt)")
    title = serializers.CharField()
    status = serializers.CharField(help_text="open | closed")
    learnerId = serializers.UUIDField(allow_null=True)
    evidenceId = serializers.UUIDField(allow_null=True)
    quizAttemptId = serializers.UUIDField(allow_null=True, help_text="the quiz attempt waiting for an assessor (quiz_review)")
    createdAt = serializers.DateTimeField()
    closedAt = serializers.DateTimeField(allow_null=True)
    closedBy = serializers.CharField(allow_null=True)


class AssessmentInputSerializer(StrictSerializer):
    learnerId = serializers.CharField(max_length=64)
    outcome = serializers.ChoiceField(choices=Outcome.values)
    courseId = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    unitStandard = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    assessedOn = serializers.DateField(required=False, allow_null=True)
    comments = serializers.CharField(max_length=10000, required=False, allow_blank=True, allow_null=True)
    evidenceIds = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=200)


class ModerationInputSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=ModerationDecision.values)
    comments = serializers.CharField(max_length=10000, required=False, allow_blank=True, allow_null=True)
    remoderate = serializers.BooleanField(
        required=False, default=False,
        help_text="moderate an assessment that was moderated before: the new moderation supersedes the last "
        "(both kept); without it a second moderation is refused with 409",
    )


class ModerationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    assessmentId = serializers.UUIDField()
    learnerId = serializers.UUIDField()
    moderatorId = serializers.CharField()
    moderator = serializers.CharField(allow_null=True)
    decision = serializers.CharField(help_text=_one_of(ModerationDecision.values))
    comments = serializers.CharField(allow_null=True)
    supersedesId = serializers.UUIDField(allow_null=True, help_text="the moderation this re-moderation replaced")
    createdAt = serializers.DateTimeField()


class AssessmentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    learnerId = serializers.UUIDField()
    courseId = serializers.UUIDField(allow_null=True)
    unitStandard = serializers.CharField(allow_null=True)
    outcome = serializers.CharField(help_text=_one_of(Outcome.values))
    assessorId = serializers.CharField()
    assessor = serializers.CharField(allow_null=True)
    assessedOn = serializers.DateField()
    comments = serializers.CharField(allow_null=True)
    evidenceIds = serializers.ListField(child=serializers.UUIDField())
    moderationDecision = serializers.CharField(allow_null=True, help_text="null until moderated; upheld | overturned")
    overturned = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    moderations = ModerationOutputSerializer(many=True, required=False, help_text="on the single-assessment read")


class CredentialInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    topic = serializers.CharField(max_length=200, required=False, allow_blank=True)
    issuer = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    issuedOn = serializers.DateField(required=False, allow_null=True)
    expiresOn = serializers.DateField(required=False, allow_null=True)
    evidenceId = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)


class CredentialOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    learnerId = serializers.UUIDField()
    name = serializers.CharField()
    topic = serializers.CharField(allow_null=True)
    issuer = serializers.CharField(allow_null=True)
    issuedOn = serializers.DateField(allow_null=True)
    expiresOn = serializers.DateField(allow_null=True)
    state = serializers.CharField(help_text="valid | expiring (within 30 days) | expired | no_expiry")
    evidenceId = serializers.UUIDField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class OnboardingStepInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    site = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    position = serializers.IntegerField(min_value=0, max_value=10000, required=False, default=0)


class OnboardingStepOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    site = serializers.CharField(allow_null=True)
    position = serializers.IntegerField()
    createdAt = serializers.DateTimeField()


class OnboardingItemOutputSerializer(serializers.Serializer):
    stepId = serializers.IntegerField()
    name = serializers.CharField()
    site = serializers.CharField(allow_null=True)
    position = serializers.IntegerField()
    completed = serializers.BooleanField()
    completedAt = serializers.DateTimeField(allow_null=True)
    completedBy = serializers.CharField(allow_null=True)


class OnboardingCompletionOutputSerializer(serializers.Serializer):
    stepId = serializers.IntegerField()
    learnerId = serializers.UUIDField()
    completed = serializers.BooleanField()
    completedAt = serializers.DateTimeField()
    completedBy = serializers.CharField(allow_null=True)
    undoneAt = serializers.DateTimeField(allow_null=True)
    undoneBy = serializers.CharField(allow_null=True)


class ExportInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ExportKind.values)
    filters = serializers.DictField(
        child=serializers.CharField(max_length=200), required=False,
        help_text="learners: site, status, updatedSince; enrollments: status, learnerId, courseId, updatedSince; "
        "assessments: outcome, learnerId, courseId, updatedSince; evidence: status, kind, learnerId, courseId, updatedSince",
    )
    format = serializers.ChoiceField(choices=["csv"], required=False, default="csv")
    raw = serializers.BooleanField(
        required=False, default=False,
        help_text="false (default): cells starting with =, +, -, @, TAB or CR get a leading ' and every cell is quoted, "
        "so a spreadsheet shows them as text; true: values exactly as stored, for machine consumers",
    )


class ExportProgressSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    percent = serializers.IntegerField()


class ExportOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text=_one_of(ExportKind.values))
    format = serializers.CharField(help_text="csv")
    filters = serializers.DictField(child=serializers.CharField())
    raw = serializers.BooleanField(help_text="true when formulas were left live (see the request's raw)")
    status = serializers.CharField(help_text="queued | running | done | failed | expired")
    progress = ExportProgressSerializer()
    rows = serializers.IntegerField()
    percent = serializers.IntegerField()
    size = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True, help_text="why a failed export failed")
    downloadUrl = serializers.URLField(allow_null=True, help_text="absolute; set when done, until expiresAt")
    expiresAt = serializers.DateTimeField(allow_null=True)
    requestedBy = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)
