"""What the signal-inbox API answers with: signals, rejected signals, needs, actions on needs, readiness."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from learning.serializers import AssignmentOutput, CourseOutput
from signals_inbox.models import NeedStatus, Target


class SignalOutput(serializers.Serializer):
    """A data point as it arrived (kept for audit)."""

    id = serializers.CharField()
    needId = serializers.UUIDField()
    deduped = serializers.BooleanField()
    event = serializers.CharField()
    type = serializers.CharField()
    data = serializers.JSONField(help_text="the signal's `data`, verbatim")  # type: ignore[assignment]  # a declared field
    receivedAt = serializers.DateTimeField()
    resolvedAt = serializers.DateTimeField(allow_null=True)


class RejectedSignalOutput(serializers.Serializer):
    """An authenticated signal that failed validation, with the reason."""

    id = serializers.IntegerField()
    reason = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    receivedAt = serializers.DateTimeField()
    reprocessedAt = serializers.DateTimeField(allow_null=True)
    reprocessedSignalId = serializers.CharField(allow_null=True)


class ReprocessOutput(serializers.Serializer):
    signalId = serializers.CharField()
    needId = serializers.UUIDField()
    deduped = serializers.BooleanField()


@extend_schema_field({"type": "string", "format": "date-time", "nullable": True, "deprecated": True})
class DeprecatedDateTimeField(serializers.DateTimeField):
    """A date-time kept for one release under an old name; the OpenAPI document marks it deprecated."""


class RecommendationOutput(serializers.Serializer):
    courseId = serializers.UUIDField()
    title = serializers.CharField()
    match = serializers.CharField(allow_null=True)


class NeedOutput(serializers.Serializer):
    """A training need as the API (and the need.* webhooks' subject) shows it."""

    id = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    status = serializers.ChoiceField(choices=NeedStatus.values)
    type = serializers.CharField()
    topic = serializers.CharField(allow_blank=True)
    category = serializers.CharField(allow_null=True)
    severity = serializers.IntegerField()
    dedupeKey = serializers.CharField()
    target = serializers.ChoiceField(choices=Target.values)
    learnerId = serializers.UUIDField(allow_null=True)
    workerRef = serializers.CharField(allow_null=True)
    site = serializers.CharField(allow_null=True)
    action = serializers.ChoiceField(choices=["offer", "author"], allow_null=True)
    recommendation = RecommendationOutput(allow_null=True)
    authoredCourseId = serializers.UUIDField(allow_null=True)
    offeredCourseId = serializers.UUIDField(allow_null=True)
    payload = serializers.JSONField(help_text="the latest signal's payload, verbatim")
    signalCount = serializers.IntegerField()
    firstSeenAt = serializers.DateTimeField()
    lastSeenAt = serializers.DateTimeField()
    matchedAt = serializers.DateTimeField(
        allow_null=True,
        help_text="When resolution matched the need to its worker or site and a course (null while pending); "
        "not when the need was resolved: see `status` and `closedAt`",
    )
    resolvedAt = DeprecatedDateTimeField(
        allow_null=True, help_text="Deprecated: the same value as `matchedAt`, under a name that misled; removed in the next release"
    )
    closedAt = serializers.DateTimeField(allow_null=True)
    dismissReason = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class NeedDetailOutput(NeedOutput):
    signals = SignalOutput(many=True, help_text="newest first, at most 100")
    assignments = AssignmentOutput(many=True)


class NeedOfferOutput(NeedOutput):
    assignments = AssignmentOutput(many=True, help_text="the assignments this offer made or found")


class NeedAuthorOutput(NeedOutput):
    course = CourseOutput(help_text="the draft course")


class ReadinessReasonOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["credential", "onboarding", "assignment", "signal"])
    blocking = serializers.BooleanField()
    name = serializers.CharField()
    detail = serializers.CharField()
    state = serializers.ChoiceField(choices=["expired", "expiring", "valid"], required=False)
    validUntil = serializers.DateField(required=False)
    daysLeft = serializers.IntegerField(required=False)
    assignmentId = serializers.UUIDField(required=False)
    dueDate = serializers.DateField(required=False)
    needId = serializers.UUIDField(required=False)
    type = serializers.CharField(required=False)
    severity = serializers.IntegerField(required=False)
    scope = serializers.ChoiceField(choices=["worker", "site"], required=False)


class ReadinessRowOutput(serializers.Serializer):
    learnerId = serializers.UUIDField()
    name = serializers.CharField()
    externalWorkerId = serializers.CharField(allow_null=True)
    site = serializers.CharField(allow_null=True)
    ready = serializers.BooleanField()
    reasons = ReadinessReasonOutput(many=True)


class ReadinessSiteOutput(serializers.Serializer):
    site = serializers.CharField(allow_null=True)
    learners = serializers.IntegerField()
    ready = serializers.IntegerField()
    notReady = serializers.IntegerField()


class SignalMapOutput(serializers.Serializer):
    """The signal map and the auto-author settings, as the admin API shows them."""

    map = serializers.DictField(child=serializers.JSONField(), help_text="signal type → {topic, category, severity}")
    autoAuthor = serializers.BooleanField()
    autoAuthorThreshold = serializers.IntegerField()
    authoringQuotaMonthly = serializers.IntegerField()


class SignalMapReadOutput(SignalMapOutput):
    refusedLast24h = serializers.DictField(child=serializers.IntegerField(), help_text="refused requests by reason")


class SignalMapPreviewOutput(serializers.Serializer):
    """What a sample signal would become; `detail` only when it would be rejected, the rest when accepted."""

    outcome = serializers.ChoiceField(choices=["accepted", "rejected"])
    detail = serializers.CharField(required=False)
    type = serializers.CharField(required=False)
    topic = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(required=False, allow_null=True)
    severity = serializers.IntegerField(required=False)
    dedupeKey = serializers.CharField(required=False)
    target = serializers.ChoiceField(choices=["worker", "cohort", "unmatched"], required=False)
    learnerId = serializers.UUIDField(required=False, allow_null=True)
    workerRef = serializers.CharField(required=False, allow_null=True)
    site = serializers.CharField(required=False, allow_null=True)
    action = serializers.ChoiceField(choices=["offer", "author"], required=False)
    recommendation = RecommendationOutput(required=False, allow_null=True)
    deduped = serializers.BooleanField(required=False)
    existingNeedId = serializers.UUIDField(required=False, allow_null=True)
    checkedAt = serializers.DateTimeField(required=False)


class SignalSecretSummary(serializers.Serializer):
    """A signal secret that verifies now: never its value, only its prefix and lifetime."""

    prefix = serializers.CharField()
    createdAt = serializers.DateTimeField()
    validUntil = serializers.DateTimeField(allow_null=True, help_text="null for the current secret; set for the previous one")


class SignalSigningOutput(serializers.Serializer):
    """How the tenant's senders must sign signals, and the secrets (at most two) that verify now."""

    requireTimestampedSignatures = serializers.BooleanField(
        help_text="true: only the Standard Webhooks form (webhook-id, webhook-timestamp, webhook-signature) is accepted"
    )
    timestampToleranceSeconds = serializers.IntegerField()
    secrets = SignalSecretSummary(many=True)
