"""A learner's progress in an assignment: lessons, quiz attempts, starting, and completing by itself."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from learning.events import assignment_data
from learning.evidence.services.tasks import quiz_review_task_open, quiz_review_tasks_close
from learning.models import Assignment, AssignmentStatus
from learning.services import assignment_complete
from learning.training.events import lesson_completed_data, quiz_completed_data
from learning.training.models import Lesson, LessonCompletion, Quiz, QuizAttempt, QuizAttemptStatus
from learning.training.services.common import record
from learning.training.services.engagement import achievements_award_for
from learning.training.services.paths import path_enrollments_check
from skillhub.errors import ConflictError, NotFoundError, ValidationFailed

LIVE = (AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED)


def _lock(assignment: Assignment) -> Assignment:
    return Assignment.objects.select_for_update(of=("self",)).select_related("course", "tenant").get(pk=assignment.pk)


def _require_live(assignment: Assignment) -> None:
    if assignment.status not in LIVE:
        raise ConflictError(f"The assignment is {assignment.status}", field="assignment", reason=f"assignment is {assignment.status}")


def _start(assignment: Assignment, now: Any) -> None:
    """Set `startedAt` on the first activity and record `assignment.started` (once)."""
    if assignment.started_at is not None:
        return
    assignment.started_at = now
    assignment.status = AssignmentStatus.STARTED
    assignment.save(update_fields=["started_at", "status", "updated_at"])
    record(tenant=assignment.tenant, event_type="assignment.started", data=assignment_data(assignment), subject_type="assignment")


def requirements_met(assignment: Assignment) -> bool:
    """Return True when every required lesson is complete and the course's quiz (if any) is passed."""
    required = set(Lesson.objects.filter(course_id=assignment.course_id, required=True).values_list("pk", flat=True))
    done = set(LessonCompletion.objects.filter(assignment=assignment).values_list("lesson_id", flat=True))
    if required - done:
        return False
    if Quiz.objects.filter(course_id=assignment.course_id).exists():
        return QuizAttempt.objects.filter(assignment=assignment, passed=True).exists()
    return True


def _complete_if_done(assignment: Assignment) -> None:
    if assignment.status in LIVE and requirements_met(assignment):
        assignment_complete(assignment=assignment)
        assignment.refresh_from_db()


def lesson_complete(*, assignment: Assignment, lesson: Lesson) -> tuple[LessonCompletion, bool]:
    """Mark a lesson complete in an assignment (`lesson.completed`); a second call changes and sends nothing."""
    if lesson.course_id != assignment.course_id or lesson.tenant_id != assignment.tenant_id:
        raise NotFoundError("Lesson not found in this assignment's course")
    with transaction.atomic():
        locked = _lock(assignment)
        existing = LessonCompletion.objects.select_related("lesson").filter(assignment=locked, lesson=lesson).first()
        if existing is not None:
            return existing, False
        _require_live(locked)
        now = timezone.now()
        _start(locked, now)
        completion = LessonCompletion.objects.create(
            tenant_id=locked.tenant_id, assignment=locked, lesson=lesson, learner_id=locked.learner_id, completed_at=now
        )
        record(tenant=locked.tenant, event_type="lesson.completed", data=lesson_completed_data(completion), subject_type="lesson")
        _complete_if_done(locked)
    return completion, True


def _score(quiz: Quiz, answers: Any) -> Decimal:
    questions = quiz.questions or []
    if not isinstance(answers, list) or len(answers) != len(questions):
        raise ValidationFailed({"answers": f"give one choice index per question ({len(questions)})"})
    for index, (answer, question) in enumerate(zip(answers, questions)):
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(question["choices"]):
            raise ValidationFailed({f"answers[{index}]": "the index of one of the question's choices"})
    if not questions:
        return Decimal("100.00")
    right = sum(1 for answer, question in zip(answers, questions) if answer == question["answer"])
    return (Decimal(100 * right) / len(questions)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def quiz_attempt_submit(*, assignment: Assignment, answers: Any, task_response: str = "") -> QuizAttempt:
    """Grade an attempt at the course's quiz; with a manual task it waits for an assessor before `quiz.completed`."""
    quiz = Quiz.objects.filter(course_id=assignment.course_id, tenant_id=assignment.tenant_id).first()
    if quiz is None:
        raise NotFoundError("This assignment's course has no quiz")
    score = _score(quiz, answers)
    task_response = (task_response or "").strip()
    if quiz.manual_task and not task_response:
        raise ValidationFailed({"task_response": "this quiz has a manually graded task: give the response to it"})
    with transaction.atomic():
        locked = _lock(assignment)
        if QuizAttempt.objects.filter(assignment=locked, passed=True).exists():
            raise ConflictError("The quiz is already passed in this assignment", field="assignment", reason="quiz already passed")
        if QuizAttempt.objects.filter(assignment=locked, status=QuizAttemptStatus.PENDING_REVIEW).exists():
            raise ConflictError("An attempt is waiting for an assessor's review", field="assignment", reason="attempt pending review")
        _require_live(locked)
        now = timezone.now()
        _start(locked, now)
        attempt = QuizAttempt(
            tenant_id=locked.tenant_id, quiz=quiz, assignment=locked, learner_id=locked.learner_id, answers=answers, score=score
        )
        if quiz.manual_task:
            attempt.status = QuizAttemptStatus.PENDING_REVIEW
            attempt.task_response = task_response[:20000]
            attempt.save()
            quiz_review_task_open(attempt=attempt)
            return attempt
        attempt.status = QuizAttemptStatus.GRADED
        attempt.passed = score >= quiz.pass_mark
        attempt.completed_at = now
        attempt.save()
        record(tenant=locked.tenant, event_type="quiz.completed", data=quiz_completed_data(attempt), subject_type="quiz_attempt")
        _complete_if_done(locked)
    return attempt


def quiz_attempt_grade(*, attempt: QuizAttempt, task_passed: bool, reviewer: str = "", comment: str = "") -> QuizAttempt:
    """Record an assessor's grade of the manual task; the attempt passes when the questions and the task do."""
    with transaction.atomic():
        locked = QuizAttempt.objects.select_for_update(of=("self",)).select_related("quiz").get(pk=attempt.pk)
        if locked.status != QuizAttemptStatus.PENDING_REVIEW:
            raise ConflictError("This attempt is already graded", field="attempt", reason="already graded")
        assignment = _lock(locked.assignment)
        locked.task_passed = bool(task_passed)
        locked.passed = locked.task_passed and locked.score >= locked.quiz.pass_mark
        locked.status = QuizAttemptStatus.GRADED
        locked.reviewed_by = reviewer[:200]
        locked.review_comment = (comment or "").strip()[:5000]
        locked.completed_at = timezone.now()
        locked.save()
        quiz_review_tasks_close(attempt=locked, closed_by=locked.reviewed_by or "grading")
        record(tenant=assignment.tenant, event_type="quiz.completed", data=quiz_completed_data(locked), subject_type="quiz_attempt")
        _complete_if_done(assignment)
    return locked


def assignment_completed_effects(*, assignment: Assignment) -> None:
    """Called inside the transaction that completes an assignment: paths complete, achievements are earned."""
    achievements_award_for(learner_id=assignment.learner_id, course_id=assignment.course_id, tenant=assignment.tenant)
    path_enrollments_check(learner_id=assignment.learner_id, course_id=assignment.course_id, tenant=assignment.tenant)
