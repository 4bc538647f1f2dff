"""Acting on needs: Author (by hand and automatically), Offer, Dismiss, and closing them on completion."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from learning.models import Assignment, AssignmentStatus, Course, Learner
from learning.selectors import (
    course_get,
    learners_by_ids,
    learners_in_group,
    learners_in_site,
)
from learning.services import assignment_create, course_create
from signals_inbox.authoring import SignalDigest, outline_author
from signals_inbox.models import (
    ACTIVE_NEED_STATUSES,
    AuditEntry,
    InboxSettings,
    Need,
    NeedAction,
    NeedAssignment,
    NeedStatus,
    Signal,
    Target,
)
from signals_inbox.events import need_authored_data, need_dismissed_data, need_offered_data, need_resolved_data
from signals_inbox.services.audit import audit_record
from skillhub.errors import ConflictError, ValidationFailed
from skillhub.hooks import after_commit
from tenants.models import Tenant
from webhooks.outbox import record_event

MAX_OFFER_LEARNERS = 5000


# --- Author -------------------------------------------------------------------------------------


def _digests(needs: list[Need], limit: int = 50) -> list[SignalDigest]:
    signals = Signal.objects.filter(need__in=needs).order_by("-id")[:limit]
    digests = []
    for signal in signals:
        data = signal.data if isinstance(signal.data, dict) else {}
        need = next(n for n in needs if n.pk == signal.need_id)
        digests.append(
            SignalDigest(
                type=signal.type,
                site=str(data.get("site") or need.site_name or ""),
                category=need.category,
                severity=need.severity,
                payload=data.get("payload", {}),
            )
        )
    return digests


def _author_draft(*, tenant: Tenant, needs: list[Need], actor: str, automatic: bool) -> Course:
    lead = needs[0]
    outline = outline_author().draft_outline(lead.topic, _digests(needs))
    course = course_create(
        tenant=tenant,
        title=str(outline.get("title") or lead.topic)[:200],
        topic=lead.topic,
        category=lead.category,
        outline=outline,
        created_by=actor,
        authored_from_need=str(lead.pk),
    )
    now = timezone.now()
    for need in needs:
        need.status = NeedStatus.AUTHORING
        need.authored_course = course
        need.updated_at = now
        need.save(update_fields=["status", "authored_course", "updated_at"])
        record_event(
            tenant=tenant,
            event_type="need.authored",
            data=need_authored_data(need, course=course, automatic=automatic),
            subject_type="need",
            subject_id=str(need.pk),
        )
        audit_record(
            tenant=tenant,
            need=need,
            actor=actor,
            action="auto_authored" if automatic and need is lead else "authored",
            details={"courseId": str(course.pk), "automatic": automatic, "topic": lead.topic, "topicKey": lead.topic_key},
        )
    return course


def need_author(*, need: Need, actor: str) -> Course:
    """Create a draft course on the need's topic, its outline seeded from the signals behind the need."""
    with transaction.atomic():
        locked = Need.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=need.pk)
        if locked.status == NeedStatus.AUTHORING and locked.authored_course_id:
            raise ConflictError("This need already has a draft course being authored", field="status", reason="authoring")
        if locked.status not in (NeedStatus.OPEN, NeedStatus.OFFERED):
            raise ConflictError(f"A {locked.status} need cannot be authored", field="status", reason=locked.status)
        return _author_draft(tenant=locked.tenant, needs=[locked], actor=actor, automatic=False)


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def auto_author_maybe(*, tenant: Tenant, need: Need) -> Course | None:
    if not InboxSettings.objects.filter(tenant=tenant, auto_author=True).exists():
        return None  # the common case, decided without taking the lock below
    # Locking the settings row serialises auto-authoring per tenant, so one topic gets one draft.
    settings_row = InboxSettings.objects.select_for_update().filter(tenant=tenant).first()
    if settings_row is None or not settings_row.auto_author:
        return None
    group = list(
        Need.objects.select_for_update()
        .filter(
            tenant=tenant,
            status=NeedStatus.OPEN,
            topic_key=need.topic_key,
            action=NeedAction.AUTHOR,
            authored_course__isnull=True,
        )
        .order_by("id")[:200]
    )
    if len(group) < settings_row.auto_author_threshold:
        return None
    now = timezone.now()
    month = _month_start(now)
    used = AuditEntry.objects.filter(tenant=tenant, action="auto_authored", created_at__gte=month).count()
    if used >= settings_row.authoring_quota_monthly:
        already = AuditEntry.objects.filter(
            tenant=tenant, action="auto_author_refused", created_at__gte=month, details__topicKey=need.topic_key
        ).exists()
        if not already:
            audit_record(
                tenant=tenant,
                need=need,
                actor="system:auto-author",
                action="auto_author_refused",
                details={
                    "topic": need.topic,
                    "topicKey": need.topic_key,
                    "openNeeds": len(group),
                    "message": (
                        f"This month's {settings_row.authoring_quota_monthly} automatic drafts are used up; "
                        "author this topic by hand or raise the quota."
                    ),
                },
            )
        return None
    return _author_draft(tenant=tenant, needs=group, actor="system:auto-author", automatic=True)


# --- Offer --------------------------------------------------------------------------------------


def _offer_learners(
    *, need: Need, learner_ids: list[str] | None, group_id: str | None, site: str | None
) -> tuple[str, list[Learner]]:
    """The learners an Offer goes to: those the caller named (one way only), else the need's own target."""
    given = [name for name, value in (("learnerIds", learner_ids), ("groupId", group_id), ("site", site)) if value]
    if len(given) > 1:
        raise ValidationFailed({given[1]: f"give only one of learnerIds, groupId or site (got {', '.join(given)})"})
    if learner_ids:
        return "learners", _named_learners(need.tenant, learner_ids)
    if group_id:
        return "group", _group_learners(need.tenant, group_id)
    if site:
        return "site", _site_learners(need.tenant, site, problem=f"no active learners at site {site[:200]!r}")
    return _target_learners(need)


def _named_learners(tenant: Tenant, learner_ids: list[str]) -> list[Learner]:
    learners, missing = learners_by_ids(tenant=tenant, learner_ids=[str(v) for v in learner_ids])
    if missing:
        raise ValidationFailed({"learner_ids": f"unknown learner id(s): {', '.join(missing[:10])}"})
    return learners


def _group_learners(tenant: Tenant, group_id: str) -> list[Learner]:
    in_group = learners_in_group(tenant=tenant, group_id=group_id)
    if in_group is None:
        raise ValidationFailed({"group_id": "unknown group"})
    if not in_group:
        raise ValidationFailed({"group_id": "the group has no active learners"})
    return in_group


def _site_learners(tenant: Tenant, site_name: str, *, problem: str) -> list[Learner]:
    learners = learners_in_site(tenant=tenant, site_name=site_name)
    if not learners:
        raise ValidationFailed({"site": problem})
    return learners


def _target_learners(need: Need) -> tuple[str, list[Learner]]:
    """The need's own worker, or its site's learners for a cohort need."""
    if need.target == Target.WORKER and need.learner is not None:
        return "worker", [need.learner]
    if need.target == Target.COHORT and need.site_name:
        problem = f"no active learners at site {need.site_name!r}; give learnerIds or groupId"
        return "site", _site_learners(need.tenant, need.site_name, problem=problem)
    raise ValidationFailed(
        {"learner_ids": "the need's worker matched no learner (or it is not resolved yet): give learnerIds, groupId or site"}
    )


def _offer_course(*, need: Need, course_id: str | None) -> Course:
    if course_id:
        course = course_get(tenant=need.tenant, course_id=course_id)
        if course is None:
            raise ValidationFailed({"course_id": "unknown course"})
        return course
    for candidate in (need.recommended_course, need.authored_course):
        if candidate is not None and candidate.status == "published":
            return candidate
    if need.authored_course is not None:
        raise ValidationFailed({"course_id": "the authored course is still a draft: publish it, or give courseId"})
    raise ValidationFailed({"course_id": "no course fits this need: give courseId, or Author one"})


@dataclass(frozen=True)
class OfferPreview:
    """What an Offer would do, worked out before anyone confirms it: nothing is written."""

    need: Need
    course: Course
    target: str
    learners: list[Learner]
    # Learner id → the status of the assignment of this course they already have (live or completed).
    already: dict[Any, str]

    @property
    def new_count(self) -> int:
        return sum(1 for learner in self.learners if learner.pk not in self.already)


def need_offer_preview(
    *,
    need: Need,
    course_id: str | None = None,
    learner_ids: list[str] | None = None,
    group_id: str | None = None,
    site: str | None = None,
) -> OfferPreview:
    """Say whom an Offer with these choices would assign, and who already has the course (the same rules as need_offer)."""
    need = Need.objects.select_related("tenant", "learner", "recommended_course", "authored_course").get(pk=need.pk)
    if need.status not in ACTIVE_NEED_STATUSES:
        raise ConflictError(f"A {need.status} need cannot be offered", field="status", reason=need.status)
    course = _offer_course(need=need, course_id=course_id)
    kind, learners = _offer_learners(need=need, learner_ids=learner_ids, group_id=group_id, site=site)
    if len(learners) > MAX_OFFER_LEARNERS:
        raise ValidationFailed({kind: f"at most {MAX_OFFER_LEARNERS} learners per offer"})
    held = (
        Assignment.objects.filter(tenant=need.tenant, course=course, learner_id__in=[l.pk for l in learners])
        .exclude(status=AssignmentStatus.EXPIRED)
        .values_list("learner_id", "status")
    )
    return OfferPreview(need=need, course=course, target=kind, learners=learners, already=dict(held))


def need_offer(
    *,
    need: Need,
    actor: str,
    course_id: str | None = None,
    learner_ids: list[str] | None = None,
    group_id: str | None = None,
    site: str | None = None,
    due_date: date | None = None,
) -> list[Assignment]:
    """Assign a course to the need's worker or site, chosen learners, a group or a site; record `need.offered`."""
    today = timezone.localdate()
    if due_date is not None and due_date < today:
        raise ValidationFailed({"due_date": "must not be in the past"})
    with transaction.atomic():
        locked = (
            Need.objects.select_for_update(of=("self",))
            .select_related("tenant", "learner", "recommended_course", "authored_course")
            .get(pk=need.pk)
        )
        if locked.status not in ACTIVE_NEED_STATUSES:
            raise ConflictError(f"A {locked.status} need cannot be offered", field="status", reason=locked.status)
        course = _offer_course(need=locked, course_id=course_id)
        kind, learners = _offer_learners(need=locked, learner_ids=learner_ids, group_id=group_id, site=site)
        if len(learners) > MAX_OFFER_LEARNERS:
            raise ValidationFailed({kind: f"at most {MAX_OFFER_LEARNERS} learners per offer"})
        due = due_date or today + timedelta(days=7 if locked.severity >= 4 else 14)
        assignments = []
        for learner in learners:
            assignment, _created = assignment_create(
                tenant=locked.tenant, learner=learner, course=course, due_date=due, source=f"need:{locked.pk}", assigned_by=actor
            )
            NeedAssignment.objects.get_or_create(need=locked, assignment=assignment)
            assignments.append(assignment)
        locked.status = NeedStatus.OFFERED
        locked.offered_course = course
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "offered_course", "updated_at"])
        details = {
            "courseId": str(course.pk),
            "target": kind,
            "learnerIds": [str(l.pk) for l in learners],
            "assignmentIds": [str(a.pk) for a in assignments],
            "dueDate": due.isoformat(),
        }
        record_event(
            tenant=locked.tenant,
            event_type="need.offered",
            data=need_offered_data(locked, course=course, target=kind, learners=learners, assignments=assignments, due=due),
            subject_type="need",
            subject_id=str(locked.pk),
        )
        audit_record(tenant=locked.tenant, need=locked, actor=actor, action="offered", details=details)
        # Learners who had already completed a live assignment of it close the need at once.
        after_commit(need_close_if_complete, need_id=locked.pk)
    return assignments


# --- Dismiss and closing ------------------------------------------------------------------------


def need_dismiss(*, need: Need, actor: str, reason: str) -> Need:
    """Close a need without training, with a reason; record `need.dismissed`."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed({"reason": "This field is required"})
    if len(reason) > 1000:
        raise ValidationFailed({"reason": "must be at most 1000 characters"})
    with transaction.atomic():
        locked = Need.objects.select_for_update(of=("self",)).select_related("tenant", "recommended_course").get(pk=need.pk)
        if locked.status not in ACTIVE_NEED_STATUSES:
            raise ConflictError(f"A {locked.status} need cannot be dismissed", field="status", reason=locked.status)
        now = timezone.now()
        locked.status = NeedStatus.DISMISSED
        locked.dismiss_reason = reason
        locked.closed_at = now
        locked.updated_at = now
        locked.save(update_fields=["status", "dismiss_reason", "closed_at", "updated_at"])
        record_event(
            tenant=locked.tenant, event_type="need.dismissed", data=need_dismissed_data(locked), subject_type="need", subject_id=str(locked.pk)
        )
        audit_record(tenant=locked.tenant, need=locked, actor=actor, action="dismissed", details={"reason": reason})
    return locked


def need_close_if_complete(*, need_id: Any) -> bool:
    """Resolve an offered need once every assignment it made is completed; record `need.resolved`."""
    with transaction.atomic():
        need = Need.objects.select_for_update(of=("self",)).select_related("tenant", "recommended_course").filter(pk=need_id).first()
        if need is None or need.status != NeedStatus.OFFERED:
            return False
        statuses = list(NeedAssignment.objects.filter(need=need).values_list("assignment__status", flat=True))
        if not statuses or any(s != AssignmentStatus.COMPLETED for s in statuses):
            return False
        now = timezone.now()
        need.status = NeedStatus.RESOLVED
        need.closed_at = now
        need.updated_at = now
        need.save(update_fields=["status", "closed_at", "updated_at"])
        record_event(
            tenant=need.tenant,
            event_type="need.resolved",
            data=need_resolved_data(need, completed_assignments=len(statuses)),
            subject_type="need",
            subject_id=str(need.pk),
        )
        audit_record(tenant=need.tenant, need=need, actor="system:completion", action="resolved", details={"assignments": len(statuses)})
    return True


def needs_close_for_assignment(*, tenant_id: Any, assignment_id: Any) -> int:
    """Check the needs an assignment was offered for, after it was completed (a learning hook)."""
    closed = 0
    for need_id in NeedAssignment.objects.filter(assignment_id=assignment_id, need__tenant_id=tenant_id).values_list(
        "need_id", flat=True
    ):
        closed += need_close_if_complete(need_id=need_id)
    return closed
