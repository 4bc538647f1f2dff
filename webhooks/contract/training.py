"""Event data of the training domain: lessons, quizzes, paths, classes, feedback, achievements, vouchers, purchases."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from webhooks.contract.types import DateTime, Rating, Uuid


class LessonCompletedData(TypedDict):
    """A lesson completed by a learner within an assignment: `id` is the lesson's."""

    id: Uuid
    courseId: Uuid
    assignmentId: Uuid
    learnerId: Uuid
    completedAt: DateTime


class QuizCompletedData(TypedDict):
    """A graded quiz attempt: `id` is the attempt's."""

    id: Uuid
    quizId: Uuid
    courseId: Uuid
    assignmentId: Uuid
    learnerId: Uuid
    score: float
    passed: bool
    completedAt: DateTime


class PathEnrollmentData(TypedDict):
    """A learner's enrollment in a learning path: `id` is the path enrollment's."""

    id: Uuid
    pathId: Uuid
    learnerId: Uuid
    enrolledAt: DateTime
    completedAt: DateTime | None


class StatusCode(TypedDict):
    """A document-002 status: its number and its name."""

    code: int
    name: str


class ClassStatusChangedData(TypedDict):
    """A class (scheduled session of a course) changed status: `id` is the class's."""

    id: Uuid
    courseId: Uuid
    status: StatusCode
    previousStatus: StatusCode | None
    startsAt: DateTime
    endsAt: DateTime


class EnrollmentStatusChangedData(TypedDict):
    """A class enrollment changed status: `id` is the class enrollment's."""

    id: Uuid
    classId: Uuid
    learnerId: Uuid
    status: StatusCode
    previousStatus: StatusCode | None


class FeedbackCreatedData(TypedDict):
    """Feedback on a course or a class: `id` is the feedback's."""

    id: Uuid
    learnerId: Uuid
    courseId: Uuid | None
    classId: Uuid | None
    rating: Rating
    comment: str
    createdAt: DateTime


class AchievementEarnedData(TypedDict):
    """An achievement awarded to a learner: `id` is the award's."""

    id: Uuid
    achievementId: Uuid
    learnerId: Uuid
    name: str
    reason: Literal["course", "path", "manual"]
    earnedAt: DateTime


class VoucherRedeemedData(TypedDict):
    """A voucher redeemed by a learner: `id` is the voucher's."""

    id: Uuid
    code: str
    learnerId: Uuid
    courseId: Uuid | None
    pathId: Uuid | None
    usesLeft: int
    redeemedAt: DateTime


class PurchaseFulfilledData(TypedDict):
    """A purchase fulfilled by enrolling its learner: `id` is the purchase's."""

    id: Uuid
    learnerId: Uuid
    courseId: Uuid | None
    pathId: Uuid | None
    externalOrderId: str
    amount: str
    currency: str
    fulfilledAt: DateTime
