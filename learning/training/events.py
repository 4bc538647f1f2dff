"""Builders of the training domain's event data: each returns the catalog's TypedDict for its type."""
from __future__ import annotations

from datetime import date
from typing import Any, cast

from learning.events import assignment_data
from learning.models import Assignment
from learning.training.models import (
    AchievementAward,
    ClassEnrollment,
    Feedback,
    LessonCompletion,
    PathEnrollment,
    Purchase,
    QuizAttempt,
    TrainingClass,
    Voucher,
)
from learning.training.statuses import ClassStatus, EnrollmentStatus, status_json
from skillhub.formats import iso
from webhooks.contract.core import AssignmentExpiringData
from webhooks.contract.training import (
    AchievementEarnedData,
    ClassStatusChangedData,
    EnrollmentStatusChangedData,
    FeedbackCreatedData,
    LessonCompletedData,
    PathEnrollmentData,
    PurchaseFulfilledData,
    QuizCompletedData,
    StatusCode,
    VoucherRedeemedData,
)


def lesson_completed_data(completion: LessonCompletion) -> LessonCompletedData:
    """Return `lesson.completed` data: `id` is the lesson's."""
    return {
        "id": str(completion.lesson_id),
        "courseId": str(completion.lesson.course_id),
        "assignmentId": str(completion.assignment_id),
        "learnerId": str(completion.learner_id),
        "completedAt": iso(completion.completed_at) or "",
    }


def quiz_completed_data(attempt: QuizAttempt) -> QuizCompletedData:
    """Return `quiz.completed` data of a graded attempt: `id` is the attempt's."""
    return {
        "id": str(attempt.pk),
        "quizId": str(attempt.quiz_id),
        "courseId": str(attempt.quiz.course_id),
        "assignmentId": str(attempt.assignment_id),
        "learnerId": str(attempt.learner_id),
        "score": float(attempt.score),
        "passed": bool(attempt.passed),
        "completedAt": iso(attempt.completed_at) or "",
    }


def path_enrollment_data(enrollment: PathEnrollment) -> PathEnrollmentData:
    """Return `path.enrolled` / `path.completed` data: `id` is the path enrollment's."""
    return {
        "id": str(enrollment.pk),
        "pathId": str(enrollment.path_id),
        "learnerId": str(enrollment.learner_id),
        "enrolledAt": iso(enrollment.created_at) or "",
        "completedAt": iso(enrollment.completed_at),
    }


def _code(choices: Any, code: int | None) -> StatusCode | None:
    return cast("StatusCode | None", status_json(choices, code))


def class_status_changed_data(training_class: TrainingClass, *, previous: int | None) -> ClassStatusChangedData:
    """Return `class.status_changed` data with the new and the previous status as {code, name}."""
    return {
        "id": str(training_class.pk),
        "courseId": str(training_class.course_id),
        "status": cast(StatusCode, _code(ClassStatus, training_class.status)),
        "previousStatus": _code(ClassStatus, previous),
        "startsAt": iso(training_class.starts_at) or "",
        "endsAt": iso(training_class.ends_at) or "",
    }


def enrollment_status_changed_data(enrollment: ClassEnrollment, *, previous: int | None) -> EnrollmentStatusChangedData:
    """Return `enrollment.status_changed` data with the new and the previous status as {code, name}."""
    return {
        "id": str(enrollment.pk),
        "classId": str(enrollment.training_class_id),
        "learnerId": str(enrollment.learner_id),
        "status": cast(StatusCode, _code(EnrollmentStatus, enrollment.status)),
        "previousStatus": _code(EnrollmentStatus, previous),
    }


def feedback_created_data(feedback: Feedback) -> FeedbackCreatedData:
    """Return `feedback.created` data: `id` is the feedback's."""
    return {
        "id": str(feedback.pk),
        "learnerId": str(feedback.learner_id),
        "courseId": str(feedback.course_id) if feedback.course_id else None,
        "classId": str(feedback.training_class_id) if feedback.training_class_id else None,
        "rating": feedback.rating,
        "comment": feedback.comment,
        "createdAt": iso(feedback.created_at) or "",
    }


def achievement_earned_data(award: AchievementAward) -> AchievementEarnedData:
    """Return `achievement.earned` data: `id` is the award's."""
    return {
        "id": str(award.pk),
        "achievementId": str(award.achievement_id),
        "learnerId": str(award.learner_id),
        "name": award.achievement.name,
        "reason": award.reason,  # type: ignore[typeddict-item]
        "earnedAt": iso(award.created_at) or "",
    }


def voucher_redeemed_data(voucher: Voucher, *, learner_id: Any, redeemed_at: Any) -> VoucherRedeemedData:
    """Return `voucher.redeemed` data: `id` is the voucher's, `usesLeft` after this redemption."""
    return {
        "id": str(voucher.pk),
        "code": voucher.code,
        "learnerId": str(learner_id),
        "courseId": str(voucher.course_id) if voucher.course_id else None,
        "pathId": str(voucher.path_id) if voucher.path_id else None,
        "usesLeft": voucher.uses_left,
        "redeemedAt": iso(redeemed_at) or "",
    }


def purchase_fulfilled_data(purchase: Purchase) -> PurchaseFulfilledData:
    """Return `purchase.fulfilled` data: `id` is the purchase's."""
    return {
        "id": str(purchase.pk),
        "learnerId": str(purchase.learner_id),
        "courseId": str(purchase.course_id) if purchase.course_id else None,
        "pathId": str(purchase.path_id) if purchase.path_id else None,
        "externalOrderId": purchase.external_order_id,
        "amount": f"{purchase.amount:.2f}",
        "currency": purchase.currency,
        "fulfilledAt": iso(purchase.fulfilled_at) or "",
    }


def assignment_expiring_data(assignment: Assignment, *, today: date) -> AssignmentExpiringData:
    """Return `assignment.expiring` data: `daysLeft` until the due date."""
    assert assignment.due_date is not None
    return {**assignment_data(assignment), "daysLeft": (assignment.due_date - today).days}
