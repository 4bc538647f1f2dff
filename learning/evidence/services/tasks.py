"""Writes of dashboard tasks: a review task opens with the evidence (or a quiz attempt to grade) and closes with its review."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from learning.evidence.events import task_created_data
from learning.evidence.models import Evidence, Task, TaskKind, TaskStatus
from webhooks.outbox import record_event


@transaction.atomic
def review_task_open(*, evidence: Evidence) -> Task:
    """Open the review task of a piece of evidence (one open at a time) and record `task.created`."""
    existing = Task.objects.filter(evidence=evidence, kind=TaskKind.EVIDENCE_REVIEW, status=TaskStatus.OPEN).first()
    if existing is not None:
        return existing
    learner = evidence.learner
    task = Task.objects.create(
        tenant_id=evidence.tenant_id,
        kind=TaskKind.EVIDENCE_REVIEW,
        title=f"Review evidence “{evidence.title}” of {learner}"[:300],
        learner=learner,
        evidence=evidence,
    )
    record_event(
        tenant=evidence.tenant, event_type="task.created", data=task_created_data(task), subject_type="task", subject_id=str(task.pk)
    )
    return task


@transaction.atomic
def review_tasks_close(*, evidence: Evidence, closed_by: str) -> int:
    """Close the open review tasks of a piece of evidence; return how many."""
    return Task.objects.filter(evidence=evidence, kind=TaskKind.EVIDENCE_REVIEW, status=TaskStatus.OPEN).update(
        status=TaskStatus.CLOSED, closed_at=timezone.now(), closed_by=closed_by[:200]
    )


@transaction.atomic
def quiz_review_task_open(*, attempt: Any) -> Task:
    """Open the grading task of a quiz attempt waiting for an assessor (one open at a time); record `task.created`."""
    existing = Task.objects.filter(quiz_attempt=attempt, kind=TaskKind.QUIZ_REVIEW, status=TaskStatus.OPEN).first()
    if existing is not None:
        return existing
    task = Task.objects.create(
        tenant_id=attempt.tenant_id,
        kind=TaskKind.QUIZ_REVIEW,
        title=f"Grade the quiz “{attempt.quiz.title}” of {attempt.learner}"[:300],
        learner_id=attempt.learner_id,
        quiz_attempt=attempt,
    )
    record_event(
        tenant=attempt.tenant, event_type="task.created", data=task_created_data(task), subject_type="task", subject_id=str(task.pk)
    )
    return task


@transaction.atomic
def quiz_review_tasks_close(*, attempt: Any, closed_by: str) -> int:
    """Close the open grading tasks of a quiz attempt; return how many."""
    return Task.objects.filter(quiz_attempt=attempt, kind=TaskKind.QUIZ_REVIEW, status=TaskStatus.OPEN).update(
        status=TaskStatus.CLOSED, closed_at=timezone.now(), closed_by=closed_by[:200]
    )
