"""Builders of the learning domain's event data: each returns the catalog's TypedDict for its type."""

from __future__ import annotations

from typing import Any

from learning.models import Assignment, Learner
from learning.selectors import learner_json
from skillhub.formats import iso
from webhooks.contract.core import AssignmentData, AssignmentExpiredData, LearnerData, LearnerUpdatedData


def learner_data(learner: Learner) -> LearnerData:
    """Return a learner as `learner.created` / `learner.deleted` carry it (the API representation)."""
    return learner_json(learner)


def learner_updated_data(after: LearnerData, *, before: LearnerData) -> LearnerUpdatedData | None:
    """Return `learner.updated` data from the representations before and after a change; None if nothing changed."""
    changed = [key for key in after if key != "updatedAt" and after[key] != before[key]]  # type: ignore[literal-required]
    if not changed:
        return None
    previous: dict[str, Any] = {key: before[key] for key in changed}  # type: ignore[literal-required]
    return {**after, "changedFields": changed, "previous": previous}


def assignment_data(assignment: Assignment) -> AssignmentData:
    """Return an assignment (a learner's enrollment in a course) as `course.*` and `assignment.*` carry it."""
    return {
        "id": str(assignment.pk),
        "tenantId": str(assignment.tenant_id),
        "learnerId": str(assignment.learner_id),
        "courseId": str(assignment.course_id),
        "courseTitle": assignment.course.title,
        "status": assignment.status,  # type: ignore[typeddict-item]
        "source": assignment.source or None,
        "enrolledAt": iso(assignment.created_at) or "",
        "dueDate": iso(assignment.due_date),
        "startedAt": iso(assignment.started_at),
        "completedAt": iso(assignment.completed_at),
    }


def assignment_expired_data(assignment: Assignment) -> AssignmentExpiredData:
    """Return `assignment.expired` data: `reason` says whether the learner had started."""
    return {**assignment_data(assignment), "reason": "incomplete" if assignment.started_at else "not_started"}
