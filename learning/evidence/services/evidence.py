"""Writes of evidence: store an upload, review it, delete it; events and the review task in the same transaction."""
from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from learning.evidence import storage
from learning.evidence.events import evidence_reviewed_data, evidence_uploaded_data
from learning.evidence.models import Assessment, Evidence, EvidenceKind, EvidenceStatus
from learning.evidence.services.callers import Caller
from learning.evidence.sniffing import safe_file_name
from learning.evidence.services.tasks import review_task_open, review_tasks_close
from learning.evidence.uploads import SniffedUpload
from learning.models import Course, Learner
from skillhub.hooks import after_commit
from skillhub.errors import ValidationFailed
from skillhub.ids import uuid7
from tenants.models import Tenant
from webhooks.outbox import record_event

logger = logging.getLogger("skillhub.evidence")

REVIEW_DECISIONS = (EvidenceStatus.APPROVED.value, EvidenceStatus.REJECTED.value)


def evidence_upload(
    *,
    tenant: Tenant,
    learner: Learner,
    upload: SniffedUpload,
    title: str,
    kind: str = EvidenceKind.DOCUMENT,
    course: Course | None = None,
    assessment: Assessment | None = None,
    caller: Caller,
) -> Evidence:
    """Stream a checked upload into storage, then record the evidence, `evidence.uploaded` and its review task."""
    errors: dict[str, str] = {}
    if not (title or "").strip():
        errors["title"] = "This field is required"
    if kind not in EvidenceKind.values:
        errors["kind"] = f"must be one of {', '.join(EvidenceKind.values)}"
    for related, name in ((learner, "learner"), (course, "course"), (assessment, "assessment")):
        if related is not None and related.tenant_id != tenant.pk:
            errors[f"{name}Id"] = f"unknown {name}"
    if assessment is not None and assessment.learner_id != learner.pk:
        errors["assessmentId"] = "the assessment is of another learner"
    if not upload.sniffed_type:
        errors["file"] = "the file's content type was not recognised"
    if errors:
        raise ValidationFailed(errors)
    evidence_id = uuid7()
    name = storage.evidence_name(tenant_id=tenant.pk, evidence_id=evidence_id, content_type=upload.sniffed_type)
    stored = storage.save(name, upload)
    try:
        with transaction.atomic():
            evidence = Evidence.objects.create(
                id=evidence_id,
                tenant=tenant,
                learner=learner,
                title=title.strip()[:200],
                kind=kind,
                course=course,
                assessment=assessment,
                file_name=safe_file_name(upload.name or "", upload.sniffed_type),
                storage_name=stored,
                content_type=upload.sniffed_type,
                size=upload.size or 0,
                sha256=upload.sha256,
                uploaded_by=caller.label,
            )
            record_event(
                tenant=tenant,
                event_type="evidence.uploaded",
                data=evidence_uploaded_data(evidence),
                subject_type="evidence",
                subject_id=str(evidence.pk),
            )
            review_task_open(evidence=evidence)
    except BaseException:
        storage.delete_quietly(stored)  # the row never existed: leave no orphan file behind
        raise
    return evidence


@transaction.atomic
def evidence_review(*, evidence: Evidence, status: str, feedback: str | None = None, caller: Caller) -> Evidence:
    """Approve or reject evidence, close its review task and record `evidence.reviewed`."""
    if status not in REVIEW_DECISIONS:
        raise ValidationFailed({"status": f"must be one of {', '.join(REVIEW_DECISIONS)}"})
    evidence = Evidence.objects.select_for_update().select_related("tenant").get(pk=evidence.pk)
    evidence.status = status
    evidence.feedback = (feedback or "").strip()
    evidence.reviewed_by = caller.label
    evidence.reviewed_at = timezone.now()
    evidence.save(update_fields=["status", "feedback", "reviewed_by", "reviewed_at", "updated_at"])
    review_tasks_close(evidence=evidence, closed_by=caller.label)
    record_event(
        tenant=evidence.tenant,
        event_type="evidence.reviewed",
        data=evidence_reviewed_data(evidence),
        subject_type="evidence",
        subject_id=str(evidence.pk),
    )
    return evidence


def evidence_update(*, evidence: Evidence, values: dict[str, Any]) -> Evidence:
    """Change an evidence's title or kind (metadata only; the file never changes)."""
    changes = {k: v for k, v in values.items() if k in ("title", "kind")}
    if "title" in changes and not (changes["title"] or "").strip():
        raise ValidationFailed({"title": "This field is required"})
    if "kind" in changes and changes["kind"] not in EvidenceKind.values:
        raise ValidationFailed({"kind": f"must be one of {', '.join(EvidenceKind.values)}"})
    for key, value in changes.items():
        setattr(evidence, key, value.strip()[:200] if key == "title" else value)
    if changes:
        evidence.save(update_fields=[*changes, "updated_at"])
    return evidence


def evidence_delete(*, evidence: Evidence) -> None:
    """Delete evidence and, once that commits, its stored file."""
    name = evidence.storage_name
    with transaction.atomic():
        evidence.delete()
        after_commit(storage.delete_quietly, name)
