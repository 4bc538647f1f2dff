"""The event catalog: every event type skillhub sends, its meaning and the shape of its `data`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EventType:
    """One deliverable event type."""

    name: str
    description: str
    data: dict[str, str]
    subject: str = ""  # the document type a thin payload points at
    aliases: tuple[str, ...] = field(default=())
    # False for events sent to one endpoint only (a ping), never fanned out by filter.
    fan_out: bool = True

    def as_json(self) -> dict[str, Any]:
        """Return the catalog entry as `GET /api/v1/event-types` shows it."""
        return {
            "type": self.name,
            "description": self.description,
            "aliases": list(self.aliases),
            "subject": self.subject or None,
            "data": dict(self.data),
        }


_LEARNER = {
    "id": "uuid",
    "tenantId": "uuid",
    "firstName": "string",
    "lastName": "string",
    "email": "string|null",
    "externalWorkerId": "string|null",
    "saIdNumber": "string|null",
    "site": "string|null",
    "role": "string|null",
    "status": "active|inactive|suspended",
    "groups": "uuid[]",
    "createdAt": "datetime",
    "updatedAt": "datetime",
}
_ENROLLMENT = {"enrollmentId": "string", "learnerId": "uuid", "courseId": "string", "enrolledAt": "datetime"}
_ASSIGNMENT = {"assignmentId": "string", "learnerId": "uuid", "courseId": "string", "dueDate": "date|null"}
_NEED = {
    "needId": "string",
    "status": "open|offered|authoring|resolved|dismissed",
    "topic": "string",
    "category": "string",
    "severity": "integer 1-4",
    "learnerId": "uuid|null",
    "site": "string|null",
}

EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "learner.created", "A learner was registered in the tenant.", _LEARNER, "learner", ("DOMAIN_ENROLLMENT",)
    ),
    EventType(
        "learner.updated",
        "A learner record changed; `changedFields` names what changed, `previous` their old values.",
        {**_LEARNER, "changedFields": "string[]", "previous": "object"},
        "learner",
    ),
    EventType("learner.deleted", "A learner was deleted; `data` is their last state.", _LEARNER, "learner"),
    EventType(
        "evidence.uploaded",
        "A learner's evidence file was submitted.",
        {"evidenceId": "string", "learnerId": "uuid", "fileName": "string", "contentType": "string", "size": "integer"},
        "evidence",
    ),
    EventType(
        "evidence.reviewed",
        "Evidence was approved or rejected.",
        {"evidenceId": "string", "learnerId": "uuid", "status": "approved|rejected", "feedback": "string|null"},
        "evidence",
    ),
    EventType(
        "assessment.recorded",
        "An assessment outcome was recorded for a learner.",
        {
            "assessmentId": "string",
            "learnerId": "uuid",
            "outcome": "competent|not_yet_competent",
            "assessorId": "string",
        },
        "assessment",
    ),
    EventType(
        "moderation.completed",
        "A moderator confirmed or overturned an assessment.",
        {"moderationId": "string", "assessmentId": "string", "decision": "confirmed|overturned"},
        "moderation",
    ),
    EventType(
        "export.ready",
        "A requested export finished; `downloadUrl` fetches it with an API key.",
        {"exportId": "string", "format": "string", "downloadUrl": "url"},
        "export",
    ),
    EventType(
        "course.enrolled",
        "A learner enrolled, or was enrolled, in a course.",
        _ENROLLMENT,
        "enrollment",
        ("COURSE_ENROLLMENT",),
    ),
    EventType(
        "course.completed",
        "A course was marked complete for a learner.",
        {"enrollmentId": "string", "learnerId": "uuid", "courseId": "string", "completedAt": "datetime"},
        "enrollment",
        ("COURSE_COMPLETION",),
    ),
    EventType(
        "lesson.completed",
        "A lesson was marked complete for a learner.",
        {"lessonId": "string", "courseId": "string", "learnerId": "uuid", "completedAt": "datetime"},
        "lesson",
        ("LESSON_COMPLETION",),
    ),
    EventType(
        "path.enrolled",
        "A learner enrolled, or was enrolled, in a learning path.",
        {"pathId": "string", "learnerId": "uuid", "enrolledAt": "datetime"},
        "path",
        ("PATH_ENROLLMENT",),
    ),
    EventType(
        "path.completed",
        "A learning path was marked complete for a learner.",
        {"pathId": "string", "learnerId": "uuid", "completedAt": "datetime"},
        "path",
        ("PATH_COMPLETION",),
    ),
    EventType(
        "quiz.completed",
        "A quiz attempt was completed (after any manually graded task).",
        {"quizId": "string", "attemptId": "string", "learnerId": "uuid", "score": "number", "passed": "boolean"},
        "quiz",
        ("QUIZ_COMPLETION",),
    ),
    EventType(
        "purchase.fulfilled",
        "A purchase was fulfilled.",
        {"purchaseId": "string", "learnerId": "uuid", "items": "object[]", "total": "string"},
        "purchase",
        ("PURCHASE_FULFILLMENT",),
    ),
    EventType(
        "task.created",
        "A task that needs a review on the dashboard was created.",
        {"taskId": "string", "kind": "string", "learnerId": "uuid|null", "title": "string"},
        "task",
        ("DASHBOARD_TASK_CREATED",),
    ),
    EventType(
        "class.status_changed",
        "A class changed status (document 002 codes: Scheduled 0 … Completed 7).",
        {"classId": "string", "status": "integer", "statusName": "string", "previousStatus": "integer|null"},
        "class",
    ),
    EventType(
        "enrollment.status_changed",
        "An enrollment changed status (Request 0, Cancel 10, Waitlist 20, Approve 30, Deny 40, Audit 50, Enroll 60).",
        {
            "enrollmentId": "string",
            "learnerId": "uuid",
            "status": "integer",
            "statusName": "string",
            "previousStatus": "integer|null",
        },
        "enrollment",
    ),
    EventType("assignment.started", "A learner started an assigned course.", _ASSIGNMENT, "assignment"),
    EventType("assignment.completed", "A learner completed an assigned course.", _ASSIGNMENT, "assignment"),
    EventType("assignment.expired", "An assignment passed its due date incomplete.", _ASSIGNMENT, "assignment"),
    EventType(
        "assignment.expiring",
        "An assignment is due soon and still incomplete.",
        {**_ASSIGNMENT, "daysLeft": "integer"},
        "assignment",
    ),
    EventType(
        "feedback.created",
        "A learner left feedback on a course or lesson.",
        {
            "feedbackId": "string",
            "learnerId": "uuid",
            "courseId": "string",
            "rating": "integer|null",
            "comment": "string",
        },
        "feedback",
    ),
    EventType(
        "achievement.earned",
        "A learner earned an achievement or credential.",
        {"achievementId": "string", "learnerId": "uuid", "name": "string", "validUntil": "date|null"},
        "achievement",
    ),
    EventType(
        "voucher.redeemed",
        "A voucher was redeemed.",
        {"voucherId": "string", "code": "string", "learnerId": "uuid", "courseId": "string|null"},
        "voucher",
    ),
    EventType("need.created", "A training need was opened from inbound signals.", _NEED, "need"),
    EventType(
        "need.offered",
        "A course was offered for a training need.",
        {**_NEED, "courseId": "string", "assignmentIds": "string[]"},
        "need",
    ),
    EventType(
        "need.authored", "A draft course was authored for a training need.", {**_NEED, "courseId": "string"}, "need"
    ),
    EventType("need.dismissed", "A training need was dismissed.", {**_NEED, "reason": "string"}, "need"),
    EventType("need.resolved", "Everyone offered a training need completed the course.", _NEED, "need"),
    EventType(
        "webhook.ping",
        "A test message sent by `POST …/webhooks/{id}/ping`; only the pinged endpoint receives it.",
        {"endpointId": "string", "message": "string"},
        "webhook",
        fan_out=False,
    ),
    EventType(
        "endpoint.disabled",
        "A webhook endpoint of the tenant was disabled after failed deliveries; sent to its other endpoints.",
        {"endpointId": "string", "url": "url", "deactivateReason": "string", "disabledAt": "datetime"},
        "webhook",
    ),
)

BY_NAME: dict[str, EventType] = {item.name: item for item in EVENT_TYPES}
ALIASES: dict[str, str] = {alias: item.name for item in EVENT_TYPES for alias in item.aliases}


class UnknownEventType(ValueError):
    """An event type that is neither in the catalog nor one of its aliases."""


def canonical(name: str) -> str:
    """Return the dotted catalog name for a name or an upper-case alias; raise UnknownEventType."""
    if name in BY_NAME:
        return name
    alias = ALIASES.get(name.strip().upper()) if isinstance(name, str) else None
    if alias is None:
        raise UnknownEventType(f"unknown event type {name!r}")
    return alias


def event_type(name: str) -> EventType:
    """Return the catalog entry for a name or alias."""
    return BY_NAME[canonical(name)]
