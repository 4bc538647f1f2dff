"""Builders of the skills-evidence event data: each returns the catalog's TypedDict for its type."""
from __future__ import annotations

from learning.evidence.models import Assessment, Evidence, Export, Moderation, Task
from skillhub.formats import iso
from webhooks.contract.evidence import (
    AssessmentRecordedData,
    EvidenceReviewedData,
    EvidenceUploadedData,
    ExportReadyData,
    ModerationCompletedData,
    TaskCreatedData,
)


def _id(value: object) -> str | None:
    return str(value) if value is not None else None


def evidence_uploaded_data(evidence: Evidence) -> EvidenceUploadedData:
    """Return `evidence.uploaded` data: the file's metadata, never its bytes."""
    return {
        "id": str(evidence.pk),
        "learnerId": str(evidence.learner_id),
        "title": evidence.title,
        "kind": evidence.kind,
        "fileName": evidence.file_name,
        "contentType": evidence.content_type,
        "size": evidence.size,
        "courseId": _id(evidence.course_id),
        "assessmentId": _id(evidence.assessment_id),
        "uploadedAt": iso(evidence.created_at) or "",
    }


def evidence_reviewed_data(evidence: Evidence) -> EvidenceReviewedData:
    """Return `evidence.reviewed` data: the decision, the feedback, who and when."""
    return {
        "id": str(evidence.pk),
        "learnerId": str(evidence.learner_id),
        "status": evidence.status,  # type: ignore[typeddict-item]
        "feedback": evidence.feedback or None,
        "reviewedBy": evidence.reviewed_by,
        "reviewedAt": iso(evidence.reviewed_at) or "",
    }


def assessment_recorded_data(assessment: Assessment, evidence_ids: list[str]) -> AssessmentRecordedData:
    """Return `assessment.recorded` data, with the linked evidence ids."""
    return {
        "id": str(assessment.pk),
        "learnerId": str(assessment.learner_id),
        "courseId": _id(assessment.course_id),
        "unitStandard": assessment.unit_standard or None,
        "outcome": assessment.outcome,  # type: ignore[typeddict-item]
        "assessorId": assessment.assessor_ref,
        "assessedOn": iso(assessment.assessed_on) or "",
        "comments": assessment.comments or None,
        "evidenceIds": evidence_ids,
    }


def moderation_completed_data(moderation: Moderation) -> ModerationCompletedData:
    """Return `moderation.completed` data: the decision on the assessment (`assessmentId`)."""
    return {
        "id": str(moderation.pk),
        "assessmentId": str(moderation.assessment_id),
        "learnerId": str(moderation.assessment.learner_id),
        "moderatorId": moderation.moderator_ref,
        "decision": moderation.decision,  # type: ignore[typeddict-item]
        "comments": moderation.comments or None,
        "moderatedAt": iso(moderation.created_at) or "",
    }


def task_created_data(task: Task) -> TaskCreatedData:
    """Return `task.created` data (document 001's DASHBOARD_TASK_CREATED)."""
    return {
        "id": str(task.pk),
        "kind": task.kind,
        "title": task.title,
        "learnerId": _id(task.learner_id),
        "evidenceId": _id(task.evidence_id),
        "quizAttemptId": _id(task.quiz_attempt_id),
        "createdAt": iso(task.created_at) or "",
    }


def export_ready_data(export: Export, *, download_url: str) -> ExportReadyData:
    """Return `export.ready` data with the absolute download URL and when it stops working."""
    return {
        "id": str(export.pk),
        "kind": export.kind,  # type: ignore[typeddict-item]
        "format": "csv",
        "rows": export.rows,
        "downloadUrl": download_url,
        "expiresAt": iso(export.expires_at) or "",
    }
