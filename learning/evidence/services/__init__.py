"""Writes of skills evidence: the only code that changes evidence, tasks, assessments, credentials, onboarding and exports."""
from __future__ import annotations

from learning.evidence.services.assessments import assessment_record, moderation_record
from learning.evidence.services.callers import Caller
from learning.evidence.services.credentials import (
    credential_create,
    credential_delete,
    credential_update,
    onboarding_complete,
    onboarding_step_create,
    onboarding_undo,
)
from learning.evidence.services.evidence import evidence_delete, evidence_review, evidence_update, evidence_upload
from learning.evidence.services.exports import (
    export_expire_now,
    export_policy_set,
    export_request,
    export_restart,
    export_run,
    exports_expire,
    exports_resend_due,
)
from learning.evidence.services.tasks import review_task_open, review_tasks_close

__all__ = [
    "Caller",
    "assessment_record",
    "credential_create",
    "credential_delete",
    "credential_update",
    "evidence_delete",
    "evidence_review",
    "evidence_update",
    "evidence_upload",
    "export_expire_now",
    "export_policy_set",
    "export_request",
    "export_restart",
    "export_run",
    "exports_expire",
    "exports_resend_due",
    "moderation_record",
    "onboarding_complete",
    "onboarding_step_create",
    "onboarding_undo",
    "review_task_open",
    "review_tasks_close",
]
