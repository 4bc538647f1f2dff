"""Event data of learners, course assignments, training needs and endpoints."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from webhooks.contract.types import Date, DateTime, JsonObject, Severity, Url, Uuid

LearnerStatus = Literal["active", "inactive", "suspended"]
AssignmentStatus = Literal["assigned", "started", "completed", "expired"]
NeedStatus = Literal["open", "offered", "authoring", "resolved", "dismissed"]


class LearnerData(TypedDict):
    """A learner as the API returns it."""

    id: Uuid
    tenantId: Uuid
    firstName: str
    lastName: str
    email: str | None
    externalWorkerId: str | None
    saIdNumber: str | None
    site: str | None
    role: str | None
    status: LearnerStatus
    groups: list[Uuid]
    createdAt: DateTime
    updatedAt: DateTime


class LearnerUpdatedData(LearnerData):
    """A learner after a change: `changedFields` names what changed, `previous` their old values."""

    changedFields: list[str]
    previous: JsonObject


class AssignmentData(TypedDict):
    """A learner's assignment to a course (their enrollment in it): `id` is the assignment's."""

    id: Uuid
    tenantId: Uuid
    learnerId: Uuid
    courseId: Uuid
    courseTitle: str
    status: AssignmentStatus
    source: str | None
    enrolledAt: DateTime
    dueDate: Date | None
    startedAt: DateTime | None
    completedAt: DateTime | None


class AssignmentExpiredData(AssignmentData):
    """An assignment whose due date passed before it was completed."""

    reason: Literal["not_started", "incomplete"]


class AssignmentExpiringData(AssignmentData):
    """An assignment inside the tenant's expiring window."""

    daysLeft: int


class NeedData(TypedDict):
    """A training need: `id` is the need's; the worker is `learnerId` (or `workerRef` while unmatched)."""

    id: str
    tenantId: Uuid
    status: NeedStatus
    type: str
    topic: str
    category: str | None
    severity: Severity
    dedupeKey: str
    target: Literal["pending", "worker", "cohort", "unmatched"]
    learnerId: Uuid | None
    workerRef: str | None
    site: str | None
    action: Literal["offer", "author"] | None
    recommendedCourseId: Uuid | None
    match: str | None
    payload: JsonObject
    signalCount: int
    firstSeenAt: DateTime
    lastSeenAt: DateTime
    closedAt: DateTime | None
    createdAt: DateTime
    updatedAt: DateTime


class NeedOfferedData(NeedData):
    """A need offered: the course, who it was assigned to and the assignments made."""

    courseId: Uuid
    offerTarget: Literal["worker", "learners", "group", "site"]
    learnerIds: list[Uuid]
    assignmentIds: list[Uuid]
    dueDate: Date


class NeedAuthoredData(NeedData):
    """A draft course authored for a need, by a person or by the auto-author rule."""

    courseId: Uuid
    automatic: bool


class NeedDismissedData(NeedData):
    """A need closed without training."""

    reason: str


class NeedResolvedData(NeedData):
    """A need closed because everyone offered it completed the course."""

    completedAssignments: int


class WebhookPingData(TypedDict):
    """A test message to one endpoint: `id` is the endpoint's."""

    id: str
    message: str


class EndpointDisabledData(TypedDict):
    """An endpoint switched off after failed deliveries: `id` is the endpoint's."""

    id: str
    url: Url
    deactivateReason: str
    disabledAt: DateTime
