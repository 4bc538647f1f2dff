"""Writes of assessments and their moderation; `assessment.recorded` / `moderation.completed` in the same transaction."""
from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from learning.evidence.events import assessment_recorded_data, moderation_completed_data
from learning.evidence.models import Assessment, Evidence, Moderation, ModerationDecision, Outcome
from learning.evidence.services.callers import Caller
from learning.models import Course, Learner
from skillhub.errors import ConflictError, ForbiddenError, ValidationFailed
from tenants.models import Tenant
from webhooks.outbox import record_event


@transaction.atomic
def assessment_record(
    *,
    tenant: Tenant,
    learner: Learner,
    outcome: str,
    course: Course | None = None,
    unit_standard: str = "",
    assessed_on: date | None = None,
    comments: str = "",
    evidence: list[Evidence] | None = None,
    caller: Caller,
) -> Assessment:
    """Record a learner's outcome against a course or a unit standard, with linked evidence of the same tenant."""
    errors: dict[str, str] = {}
    evidence = evidence or []
    if learner.tenant_id != tenant.pk:
        errors["learnerId"] = "unknown learner"
    if outcome not in Outcome.values:
        errors["outcome"] = f"must be one of {', '.join(Outcome.values)}"
    if course is None and not (unit_standard or "").strip():
        errors["courseId"] = "give a courseId or a unitStandard"
    if course is not None and course.tenant_id != tenant.pk:
        errors["courseId"] = "unknown course"
    if assessed_on is not None and assessed_on > timezone.localdate():
        errors["assessedOn"] = "must not be in the future"
    foreign = [str(e.pk) for e in evidence if e.tenant_id != tenant.pk]
    if foreign:
        errors["evidenceIds"] = f"unknown evidence: {', '.join(foreign)}"
    elif any(e.learner_id != learner.pk for e in evidence):
        errors["evidenceIds"] = "evidence must be of the assessed learner"
    if errors:
        raise ValidationFailed(errors)
    assessment = Assessment.objects.create(
        tenant=tenant,
        learner=learner,
        course=course,
        unit_standard=(unit_standard or "").strip()[:200],
        outcome=outcome,
        assessor_ref=caller.ref,
        assessor_label=caller.label,
        assessor_person=caller.person,
        assessed_on=assessed_on or timezone.localdate(),
        comments=(comments or "").strip(),
    )
    if evidence:
        assessment.evidence.set(evidence)
    record_event(
        tenant=tenant,
        event_type="assessment.recorded",
        data=assessment_recorded_data(assessment, sorted(str(e.pk) for e in evidence)),
        subject_type="assessment",
        subject_id=str(assessment.pk),
    )
    return assessment


@transaction.atomic
def moderation_record(
    *, assessment: Assessment, decision: str, comments: str = "", remoderate: bool = False, caller: Caller
) -> Moderation:
    """Uphold or overturn an assessment, never by the person who assessed it (through any of their keys).

    An assessment is moderated once; moderating it again needs `remoderate`, which records a new
    moderation that supersedes the last one (both kept) and becomes the assessment's decision.
    """
    if decision not in ModerationDecision.values:
        raise ValidationFailed({"decision": f"must be one of {', '.join(ModerationDecision.values)}"})
    assessment = Assessment.objects.select_for_update().select_related("tenant").get(pk=assessment.pk)
    assessor = {assessment.assessor_ref, assessment.assessor_person or assessment.assessor_ref}
    if caller.ref in assessor or caller.person in assessor:
        raise ForbiddenError("A moderator may not moderate their own assessment (through any of their keys)")
    latest = Moderation.objects.filter(assessment=assessment).order_by("-id").first()
    if latest is not None and not remoderate:
        raise ConflictError(
            f"This assessment was already moderated ({latest.decision}); send remoderate: true to moderate it again",
            field="remoderate",
        )
    moderation = Moderation.objects.create(
        tenant=assessment.tenant,
        assessment=assessment,
        moderator_ref=caller.ref,
        moderator_label=caller.label,
        moderator_person=caller.person,
        decision=decision,
        comments=(comments or "").strip(),
        supersedes=latest,
    )
    assessment.moderation_decision = decision
    assessment.save(update_fields=["moderation_decision", "updated_at"])
    record_event(
        tenant=assessment.tenant,
        event_type="moderation.completed",
        data=moderation_completed_data(moderation),
        subject_type="moderation",
        subject_id=str(moderation.pk),
    )
    return moderation
