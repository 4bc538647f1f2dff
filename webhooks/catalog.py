"""The event catalog: every event type skillhub sends, its meaning and the contract of its `data`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from webhooks.contract import core, evidence, training
from webhooks.contract.schema import json_schema


@dataclass(frozen=True)
class EventType:
    """One deliverable event type; `data` is the TypedDict its builder returns."""

    name: str
    description: str
    data: type
    subject: str = ""  # the document type a thin payload points at; `data["id"]` is its id
    aliases: tuple[str, ...] = field(default=())
    # False for events sent to one endpoint only (a ping), never fanned out by filter.
    fan_out: bool = True
    # False while no code produces it yet: listed so integrators can plan, never described as sent.
    sent: bool = True

    @cached_property
    def schema(self) -> dict[str, Any]:
        """Return the JSON Schema of this type's `data`."""
        return json_schema(self.data)

    def as_json(self) -> dict[str, Any]:
        """Return the catalog entry as `GET /api/v1/event-types` shows it."""
        return {
            "type": self.name,
            "description": self.description,
            "aliases": list(self.aliases),
            "subject": self.subject or None,
            "sent": self.sent,
            "schema": self.schema,
        }


EVENT_TYPES: tuple[EventType, ...] = (
    EventType("learner.created", "A learner was registered in the tenant.", core.LearnerData, "learner", ("DOMAIN_ENROLLMENT",)),
    EventType(
        "learner.updated",
        "A learner record changed; `changedFields` names what changed, `previous` their old values.",
        core.LearnerUpdatedData,
        "learner",
    ),
    EventType("learner.deleted", "A learner was deleted; `data` is their last state.", core.LearnerData, "learner"),
    EventType("evidence.uploaded", "A learner's evidence file was submitted.", evidence.EvidenceUploadedData, "evidence"),
    EventType("evidence.reviewed", "Evidence was approved or rejected.", evidence.EvidenceReviewedData, "evidence"),
    EventType(
        "assessment.recorded",
        "An assessment outcome was recorded for a learner.",
        evidence.AssessmentRecordedData,
        "assessment",
    ),
    EventType(
        "moderation.completed",
        "A moderator upheld or overturned an assessment.",
        evidence.ModerationCompletedData,
        "moderation",
    ),
    EventType(
        "export.ready",
        "A requested export finished; `downloadUrl` fetches it with an API key.",
        evidence.ExportReadyData,
        "export",
    ),
    EventType(
        "course.enrolled",
        "A learner was assigned (enrolled in) a course; `id` is the assignment's.",
        core.AssignmentData,
        "assignment",
        ("COURSE_ENROLLMENT",),
    ),
    EventType(
        "course.completed",
        "A learner completed an assigned course; `id` is the assignment's.",
        core.AssignmentData,
        "assignment",
        ("COURSE_COMPLETION",),
    ),
    EventType(
        "lesson.completed",
        "A lesson was marked complete for a learner.",
        training.LessonCompletedData,
        "lesson",
        ("LESSON_COMPLETION",),
    ),
    EventType(
        "path.enrolled",
        "A learner enrolled, or was enrolled, in a learning path.",
        training.PathEnrollmentData,
        "path_enrollment",
        ("PATH_ENROLLMENT",),
    ),
    EventType(
        "path.completed",
        "A learner completed every course of a learning path.",
        training.PathEnrollmentData,
        "path_enrollment",
        ("PATH_COMPLETION",),
    ),
    EventType(
        "quiz.completed",
        "A quiz attempt was graded (after any manually graded task).",
        training.QuizCompletedData,
        "quiz_attempt",
        ("QUIZ_COMPLETION",),
    ),
    EventType(
        "purchase.fulfilled",
        "A purchase was fulfilled by enrolling its learner.",
        training.PurchaseFulfilledData,
        "purchase",
        ("PURCHASE_FULFILLMENT",),
    ),
    EventType(
        "task.created",
        "A task that needs a review on the dashboard was created.",
        evidence.TaskCreatedData,
        "task",
        ("DASHBOARD_TASK_CREATED",),
    ),
    EventType(
        "class.status_changed",
        "A class changed status (document 002 codes: Scheduled 0 … Completed 7).",
        training.ClassStatusChangedData,
        "class",
    ),
    EventType(
        "enrollment.status_changed",
        "A class enrollment changed status (Request 0, Cancel 10, Waitlist 20, Approve 30, Deny 40, Audit 50, Enroll 60).",
        training.EnrollmentStatusChangedData,
        "class_enrollment",
    ),
    EventType("assignment.started", "A learner started an assigned course (the first lesson or quiz activity).", core.AssignmentData, "assignment"),
    EventType("assignment.completed", "A learner completed an assigned course.", core.AssignmentData, "assignment"),
    EventType(
        "assignment.expired",
        "An assignment passed its due date incomplete; `reason` says whether it was started.",
        core.AssignmentExpiredData,
        "assignment",
    ),
    EventType(
        "assignment.expiring",
        "An assignment entered the tenant's expiring window, still incomplete.",
        core.AssignmentExpiringData,
        "assignment",
    ),
    EventType(
        "feedback.created",
        "A learner left feedback on a course or a class.",
        training.FeedbackCreatedData,
        "feedback",
    ),
    EventType(
        "achievement.earned",
        "A learner earned an achievement.",
        training.AchievementEarnedData,
        "achievement_award",
    ),
    EventType("voucher.redeemed", "A voucher was redeemed.", training.VoucherRedeemedData, "voucher"),
    EventType("need.created", "A training need was opened from inbound signals.", core.NeedData, "need"),
    EventType(
        "need.offered",
        "A course was offered for a training need: `courseId` and the `assignmentIds` made.",
        core.NeedOfferedData,
        "need",
    ),
    EventType("need.authored", "A draft course (`courseId`) was authored for a training need.", core.NeedAuthoredData, "need"),
    EventType("need.dismissed", "A training need was dismissed, with a `reason`.", core.NeedDismissedData, "need"),
    EventType("need.resolved", "Everyone offered a training need completed the course.", core.NeedResolvedData, "need"),
    EventType(
        "webhook.ping",
        "A test message sent by `POST …/webhooks/{id}/ping`; only the pinged endpoint receives it.",
        core.WebhookPingData,
        "webhook",
        fan_out=False,
    ),
    EventType(
        "endpoint.disabled",
        "A webhook endpoint of the tenant was disabled after failed deliveries; sent to its other endpoints.",
        core.EndpointDisabledData,
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
