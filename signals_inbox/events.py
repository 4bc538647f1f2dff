"""Builders of the `need.*` event data: each returns the catalog's TypedDict for its type."""

from __future__ import annotations

from datetime import date
from typing import Sequence

from learning.models import Assignment, Course, Learner
from signals_inbox.models import Need
from skillhub.formats import iso
from webhooks.contract.core import (
    NeedAuthoredData,
    NeedData,
    NeedDismissedData,
    NeedOfferedData,
    NeedResolvedData,
)


def need_data(need: Need) -> NeedData:
    """Return a need as every `need.*` event carries it; `id` is the need's."""
    return {
        "id": str(need.pk),
        "tenantId": str(need.tenant_id),
        "status": need.status,  # type: ignore[typeddict-item]
        "type": need.type,
        "topic": need.topic,
        "category": need.category or None,
        "severity": need.severity,
        "dedupeKey": need.dedupe_key,
        "target": need.target,  # type: ignore[typeddict-item]
        "learnerId": str(need.learner_id) if need.learner_id else None,
        "workerRef": need.worker_ref or None,
        "site": need.site_name or None,
        "action": need.action or None,  # type: ignore[typeddict-item]
        "recommendedCourseId": str(need.recommended_course_id) if need.recommended_course_id else None,
        "match": need.match or None,
        "payload": need.payload or {},
        "signalCount": need.signal_count,
        "firstSeenAt": iso(need.first_seen_at) or "",
        "lastSeenAt": iso(need.last_seen_at) or "",
        "closedAt": iso(need.closed_at),
        "createdAt": iso(need.created_at) or "",
        "updatedAt": iso(need.updated_at) or "",
    }


def need_offered_data(
    need: Need, *, course: Course, target: str, learners: Sequence[Learner], assignments: Sequence[Assignment], due: date
) -> NeedOfferedData:
    """Return `need.offered` data: the course offered, to whom, and the assignments made."""
    return {
        **need_data(need),
        "courseId": str(course.pk),
        "offerTarget": target,  # type: ignore[typeddict-item]
        "learnerIds": [str(learner.pk) for learner in learners],
        "assignmentIds": [str(assignment.pk) for assignment in assignments],
        "dueDate": due.isoformat(),
    }


def need_authored_data(need: Need, *, course: Course, automatic: bool) -> NeedAuthoredData:
    """Return `need.authored` data: the draft course and whether the auto-author rule made it."""
    return {**need_data(need), "courseId": str(course.pk), "automatic": automatic}


def need_dismissed_data(need: Need) -> NeedDismissedData:
    """Return `need.dismissed` data with the person's reason."""
    return {**need_data(need), "reason": need.dismiss_reason}


def need_resolved_data(need: Need, *, completed_assignments: int) -> NeedResolvedData:
    """Return `need.resolved` data: how many assignments were completed to close it."""
    return {**need_data(need), "completedAssignments": completed_assignments}
