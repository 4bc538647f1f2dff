"""How the API shows skills-evidence objects: camelCase dicts, the same shape in every answer."""
from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.utils import timezone

from learning.evidence.models import Assessment, Evidence, Export, ExportStatus, Moderation, Task
from learning.models import Credential, OnboardingCompletion, OnboardingStep
from skillhub.formats import iso

# A credential within this many days of its expiry is "expiring" (the readiness board's window).
EXPIRING_WITHIN_DAYS = 30


def _id(value: object) -> str | None:
    return str(value) if value is not None else None


def api_url(slug: str, path: str) -> str:
    """Return the absolute URL of a tenant API path (SKILLHUB_PUBLIC_URL)."""
    return f"{settings.SKILLHUB_PUBLIC_URL}/api/v1/tenants/{slug}/{path}"


def evidence_json(evidence: Evidence, *, slug: str) -> dict[str, Any]:
    return {
        "id": str(evidence.pk),
        "learnerId": str(evidence.learner_id),
        "title": evidence.title,
        "kind": evidence.kind,
        "courseId": _id(evidence.course_id),
        "assessmentId": _id(evidence.assessment_id),
        "fileName": evidence.file_name,
        "contentType": evidence.content_type,
        "size": evidence.size,
        "sha256": evidence.sha256,
        "status": evidence.status,
        "feedback": evidence.feedback or None,
        "uploadedBy": evidence.uploaded_by or None,
        "reviewedBy": evidence.reviewed_by or None,
        "reviewedAt": iso(evidence.reviewed_at),
        "downloadUrl": api_url(slug, f"evidence/{evidence.pk}/download"),
        "createdAt": iso(evidence.created_at),
        "updatedAt": iso(evidence.updated_at),
    }


def task_json(task: Task) -> dict[str, Any]:
    return {
        "id": str(task.pk),
        "kind": task.kind,
        "title": task.title,
        "status": task.status,
        "learnerId": _id(task.learner_id),
        "evidenceId": _id(task.evidence_id),
        "quizAttemptId": _id(task.quiz_attempt_id),
        "createdAt": iso(task.created_at),
        "closedAt": iso(task.closed_at),
        "closedBy": task.closed_by or None,
    }


def moderation_json(moderation: Moderation) -> dict[str, Any]:
    return {
        "id": str(moderation.pk),
        "assessmentId": str(moderation.assessment_id),
        "learnerId": str(moderation.assessment.learner_id),
        "moderatorId": moderation.moderator_ref,
        "moderator": moderation.moderator_label or None,
        "decision": moderation.decision,
        "comments": moderation.comments or None,
        "supersedesId": _id(moderation.supersedes_id),
        "createdAt": iso(moderation.created_at),
    }


def assessment_json(assessment: Assessment, *, moderations: list[Moderation] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(assessment.pk),
        "learnerId": str(assessment.learner_id),
        "courseId": _id(assessment.course_id),
        "unitStandard": assessment.unit_standard or None,
        "outcome": assessment.outcome,
        "assessorId": assessment.assessor_ref,
        "assessor": assessment.assessor_label or None,
        "assessedOn": iso(assessment.assessed_on),
        "comments": assessment.comments or None,
        "evidenceIds": sorted(str(e.pk) for e in assessment.evidence.all()),
        "moderationDecision": assessment.moderation_decision or None,
        "overturned": assessment.moderation_decision == "overturned",
        "createdAt": iso(assessment.created_at),
        "updatedAt": iso(assessment.updated_at),
    }
    if moderations is not None:
        body["moderations"] = [moderation_json(m) for m in moderations]
    return body


def credential_state(valid_until: date | None, *, today: date | None = None) -> str:
    """Return `valid`, `expiring`, `expired` or `no_expiry`, as the readiness board judges it."""
    if valid_until is None:
        return "no_expiry"
    days = (valid_until - (today or timezone.localdate())).days
    return "expired" if days < 0 else "expiring" if days <= EXPIRING_WITHIN_DAYS else "valid"


def credential_json(credential: Credential) -> dict[str, Any]:
    return {
        "id": credential.pk,
        "learnerId": str(credential.learner_id),
        "name": credential.name,
        "topic": credential.topic or None,
        "issuer": credential.issuer or None,
        "issuedOn": iso(credential.issued_on),
        "expiresOn": iso(credential.valid_until),
        "state": credential_state(credential.valid_until),
        "evidenceId": _id(credential.evidence_id),
        "createdAt": iso(credential.created_at),
        "updatedAt": iso(credential.updated_at),
    }


def onboarding_step_json(step: OnboardingStep) -> dict[str, Any]:
    return {
        "id": step.pk,
        "name": step.name,
        "site": step.site.name if step.site is not None else None,
        "position": step.position,
        "createdAt": iso(step.created_at),
    }


def onboarding_item_json(step: OnboardingStep, completion: OnboardingCompletion | None) -> dict[str, Any]:
    return {
        "stepId": step.pk,
        "name": step.name,
        "site": step.site.name if step.site is not None else None,
        "position": step.position,
        "completed": completion is not None,
        "completedAt": iso(completion.completed_at) if completion else None,
        "completedBy": (completion.completed_by or None) if completion else None,
    }


def onboarding_completion_json(completion: OnboardingCompletion) -> dict[str, Any]:
    return {
        "stepId": completion.step_id,
        "learnerId": str(completion.learner_id),
        "completed": completion.undone_at is None,
        "completedAt": iso(completion.completed_at),
        "completedBy": completion.completed_by or None,
        "undoneAt": iso(completion.undone_at),
        "undoneBy": completion.undone_by or None,
    }


def export_download_url(export: Export, *, slug: str) -> str:
    return api_url(slug, f"exports/{export.pk}/download")


def export_json(export: Export, *, slug: str) -> dict[str, Any]:
    done = export.status == ExportStatus.DONE
    return {
        "id": str(export.pk),
        "kind": export.kind,
        "format": export.format,
        "filters": export.filters,
        "raw": export.raw,
        "status": export.status,
        "progress": {"rows": export.rows, "total": export.total, "percent": export.percent},
        "rows": export.rows,
        "percent": export.percent,
        "size": export.size,
        "error": export.error or None,
        "downloadUrl": export_download_url(export, slug=slug) if done else None,
        "expiresAt": iso(export.expires_at),
        "requestedBy": export.requested_by or None,
        "attempts": export.attempts,
        "createdAt": iso(export.created_at),
        "startedAt": iso(export.started_at),
        "finishedAt": iso(export.finished_at),
    }
