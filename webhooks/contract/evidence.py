"""Event data of skills evidence: evidence files, assessments, moderation, review tasks and exports."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from webhooks.contract.types import Date, DateTime, Url, Uuid


class EvidenceUploadedData(TypedDict):
    """A learner's evidence file was stored: `id` is the evidence's."""

    id: Uuid
    learnerId: Uuid
    title: str
    kind: str
    fileName: str
    contentType: str
    size: int
    courseId: Uuid | None
    assessmentId: Uuid | None
    uploadedAt: DateTime


class EvidenceReviewedData(TypedDict):
    """Evidence approved or rejected: `id` is the evidence's."""

    id: Uuid
    learnerId: Uuid
    status: Literal["approved", "rejected"]
    feedback: str | None
    reviewedBy: str
    reviewedAt: DateTime


class AssessmentRecordedData(TypedDict):
    """An assessment outcome recorded for a learner: `id` is the assessment's."""

    id: Uuid
    learnerId: Uuid
    courseId: Uuid | None
    unitStandard: str | None
    outcome: Literal["competent", "not_yet_competent"]
    assessorId: str
    assessedOn: Date
    comments: str | None
    evidenceIds: list[Uuid]


class ModerationCompletedData(TypedDict):
    """A moderator upheld or overturned an assessment: `id` is the moderation's."""

    id: Uuid
    assessmentId: Uuid
    learnerId: Uuid
    moderatorId: str
    decision: Literal["upheld", "overturned"]
    comments: str | None
    moderatedAt: DateTime


class TaskCreatedData(TypedDict):
    """A task that needs a review on the dashboard: `id` is the task's."""

    id: Uuid
    kind: str
    title: str
    learnerId: Uuid | None
    evidenceId: Uuid | None
    quizAttemptId: Uuid | None
    createdAt: DateTime


class ExportReadyData(TypedDict):
    """An export finished: `downloadUrl` fetches it with an API key until `expiresAt`; `id` is the export's."""

    id: Uuid
    kind: Literal["learners", "enrollments", "assessments", "evidence"]
    format: Literal["csv"]
    rows: int
    downloadUrl: Url
    expiresAt: DateTime
