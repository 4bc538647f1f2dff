"""Writes of the signal inbox: ingest, resolution, Offer/Author/Dismiss, closing needs, the signal map.

Each service that changes a need records its `need.*` event in the same transaction and an
audit entry saying who did it.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from learning.models import Assignment, AssignmentStatus, Course, Learner
from learning.selectors import (
    course_get,
    course_match_topic,
    learner_find,
    learner_get,
    learners_by_ids,
    learners_in_group,
    learners_in_site,
)
from learning.services import assignment_create, course_create
from signals_inbox.authoring import SignalDigest, outline_author
from signals_inbox.dispatch import send_resolution
from signals_inbox.models import (
    ACTIVE_NEED_STATUSES,
    AuditEntry,
    InboxSettings,
    Need,
    NeedAction,
    NeedAssignment,
    NeedStatus,
    RejectedSignal,
    Signal,
    SignalMapEntry,
    Target,
    new_signal_id,
)
from signals_inbox.parsing import InvalidSignal, ParsedSignal, parse_signal
from signals_inbox.selectors import forget_ingest_context, ingest_context, inbox_settings_get, need_json
from skillhub.errors import ConflictError, ValidationFailed
from skillhub.ids import uuid7
from tenants.models import Tenant
from webhooks.services import record_event

logger = logging.getLogger("skillhub.signals")

REJECTED_LOG_LIMIT = 500
MAX_OFFER_LEARNERS = 5000


# --- ingest -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    signal_id: str
    need_id: uuid.UUID
    deduped: bool


# One statement, so the need/dedupe decision is made by the partial unique index itself:
# exactly one concurrent request sees created = true (xmax = 0 only for a fresh insert).
_PG_INGEST = """
WITH need AS (
    INSERT INTO signals_inbox_need AS n
        (id, tenant_id, dedupe_key, type, topic, topic_key, category, severity, worker_ref, site_name,
         payload, first_seen_at, last_seen_at, created_at, updated_at)
    VALUES (%(need_id)s, %(tenant_id)s, %(dedupe_key)s, %(type)s, %(topic)s, %(topic_key)s, %(category)s,
            %(severity)s, %(worker_ref)s, %(site_name)s, %(payload)s::jsonb, %(now)s, %(now)s, %(now)s, %(now)s)
    ON CONFLICT (tenant_id, dedupe_key) WHERE status IN ('open', 'offered', 'authoring')
    DO UPDATE SET payload = EXCLUDED.payload, severity = EXCLUDED.severity, last_seen_at = EXCLUDED.last_seen_at,
                  updated_at = EXCLUDED.updated_at, signal_count = n.signal_count + 1
    RETURNING n.id, (n.xmax = 0) AS created
)
INSERT INTO signals_inbox_signal (id, tenant_id, need_id, deduped, event, type, data, received_at)
SELECT %(signal_id)s, %(tenant_id)s, need.id, NOT need.created, %(event)s, %(type)s, %(data)s::jsonb, %(now)s FROM need
RETURNING need_id, deduped
"""


def _ingest_postgres(tenant_id: uuid.UUID, parsed: ParsedSignal, signal_id: str, now: datetime) -> IngestResult:
    params = {
        "need_id": uuid7(),
        "tenant_id": tenant_id,
        "dedupe_key": parsed.dedupe_key,
        "type": parsed.type,
        "topic": parsed.topic,
        "topic_key": parsed.topic_key,
        "category": parsed.category,
        "severity": parsed.severity,
        "worker_ref": parsed.worker_ref,
        "site_name": parsed.site,
        "payload": parsed.payload_json,
        "now": now,
        "signal_id": signal_id,
        "event": parsed.event,
        "data": parsed.data_json,
    }
    with connection.cursor() as cursor:
        cursor.execute(_PG_INGEST, params)
        need_id, deduped = cursor.fetchone()
    return IngestResult(signal_id=signal_id, need_id=need_id, deduped=bool(deduped))


def _ingest_portable(tenant_id: uuid.UUID, parsed: ParsedSignal, signal_id: str, now: datetime) -> IngestResult:
    payload = parsed_payload(parsed)
    for _attempt in range(3):
        with transaction.atomic():
            try:
                # The savepoint lets the unique index refuse a second open need without aborting the transaction.
                with transaction.atomic():
                    need = Need.objects.create(
                        tenant_id=tenant_id,
                        dedupe_key=parsed.dedupe_key,
                        type=parsed.type,
                        topic=parsed.topic,
                        topic_key=parsed.topic_key,
                        category=parsed.category,
                        severity=parsed.severity,
                        worker_ref=parsed.worker_ref,
                        site_name=parsed.site,
                        payload=payload,
                        first_seen_at=now,
                        last_seen_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                deduped = False
            except IntegrityError:
                need = (
                    Need.objects.select_for_update()
                    .filter(tenant_id=tenant_id, dedupe_key=parsed.dedupe_key, status__in=ACTIVE_NEED_STATUSES)
                    .first()
                )
                if need is None:  # the open need closed in between: try again
                    continue
                Need.objects.filter(pk=need.pk).update(
                    payload=payload,
                    severity=parsed.severity,
                    last_seen_at=now,
                    updated_at=now,
                    signal_count=F("signal_count") + 1,
                )
                deduped = True
            Signal.objects.create(
                id=signal_id,
                tenant_id=tenant_id,
                need=need,
                deduped=deduped,
                event=parsed.event,
                type=parsed.type,
                data=parsed.data,
                received_at=now,
            )
            return IngestResult(signal_id=signal_id, need_id=need.pk, deduped=deduped)
    raise RuntimeError("could not record the signal after 3 attempts")


def parsed_payload(parsed: ParsedSignal) -> Any:
    """Return the signal's payload as stored on its need (verbatim)."""
    return parsed.data.get("payload", {})


def signal_ingest(*, tenant_id: uuid.UUID, parsed: ParsedSignal, received_at: datetime | None = None) -> IngestResult:
    """Record a valid signal and find or create its open need; resolution is sent after commit."""
    now = received_at or timezone.now()
    signal_id = new_signal_id()
    if django_settings.DATABASE_IS_POSTGRES and not transaction.get_connection().in_atomic_block:
        result = _ingest_postgres(tenant_id, parsed, signal_id, now)
    else:
        result = _ingest_portable(tenant_id, parsed, signal_id, now)
    transaction.on_commit(lambda: send_resolution(signal_id))
    return result


def signal_reject(*, tenant_id: uuid.UUID, body: bytes, reason: str) -> RejectedSignal:
    """Keep an authenticated but invalid request in the tenant's bounded rejected-signals log."""
    with transaction.atomic():
        row = RejectedSignal.objects.create(
            tenant_id=tenant_id, body=body.decode("utf-8", "replace").replace("\x00", "\ufffd"), reason=reason[:1000]
        )
        stale = RejectedSignal.objects.filter(tenant_id=tenant_id).order_by("-id").values_list("id", flat=True)[
            REJECTED_LOG_LIMIT : REJECTED_LOG_LIMIT + 1
        ]
        cutoff = list(stale)
        if cutoff:
            RejectedSignal.objects.filter(tenant_id=tenant_id, id__lte=cutoff[0]).delete()
    return row


def rejected_signal_reprocess(*, rejected: RejectedSignal, actor: str) -> IngestResult:
    """Run a rejected signal through ingest again (after the map or its body was fixed)."""
    tenant = rejected.tenant
    forget_ingest_context(slug=tenant.slug)
    context = ingest_context(slug=tenant.slug)
    assert context is not None
    try:
        parsed = parse_signal(rejected.body.encode("utf-8"), context.signal_map)
    except InvalidSignal as exc:
        RejectedSignal.objects.filter(pk=rejected.pk).update(reason=exc.detail[:1000])
        raise ValidationFailed({"body": exc.detail}, f"Still invalid: {exc.detail}") from exc
    with transaction.atomic():
        result = signal_ingest(tenant_id=context.tenant_id, parsed=parsed)
        RejectedSignal.objects.filter(pk=rejected.pk).update(
            reprocessed_at=timezone.now(), reprocessed_signal_id=result.signal_id
        )
        _audit(tenant=tenant, actor=actor, action="reprocessed", details={"rejectedId": rejected.pk, "signalId": result.signal_id})
    return result


# --- resolution -------------------------------------------------------------------------------


def signal_resolve(*, signal_id: str) -> bool:
    """Resolve one signal: its need's worker or cohort and course, once; return False if already done."""
    with transaction.atomic():
        now = timezone.now()
        # The conditional UPDATE claims the signal; a second run (or a concurrent one) finds nothing to do.
        if not Signal.objects.filter(pk=signal_id, resolved_at__isnull=True).update(resolved_at=now):
            return False
        signal = Signal.objects.get(pk=signal_id)
        need = Need.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=signal.need_id)
        if need.resolved_at is None:
            _need_resolve(need=need, signal=signal, now=now)
        elif need.target == Target.UNMATCHED and need.status in ACTIVE_NEED_STATUSES:
            learner = learner_find(tenant=need.tenant, **_worker_keys(signal.data))
            if learner is not None:
                _attach_learner(need=need, learner=learner, now=now)
    return True


def _worker_keys(data: dict[str, Any]) -> dict[str, str]:
    keys = {}
    for key in ("external_worker_id", "email", "learner_id"):
        value = data.get(key)
        keys[key] = "" if value is None or isinstance(value, (bool, dict, list)) else str(value).strip()
    return keys


def _need_resolve(*, need: Need, signal: Signal, now: datetime) -> None:
    tenant = need.tenant
    if need.worker_ref:
        learner = learner_find(tenant=tenant, **_worker_keys(signal.data))
        need.learner = learner
        need.target = Target.WORKER if learner is not None else Target.UNMATCHED
        if learner is not None and not need.site_name and learner.site_id:
            need.site_name = learner.site.name
    else:
        need.target = Target.COHORT
    course, match = course_match_topic(tenant=tenant, topic=need.topic)
    need.recommended_course = course
    need.match = match
    need.action = NeedAction.OFFER if course is not None else NeedAction.AUTHOR
    need.resolved_at = now
    need.updated_at = now
    need.save()
    record_event(tenant=tenant, event_type="need.created", data=need_json(need), subject_type="need", subject_id=str(need.pk))
    if need.action == NeedAction.AUTHOR:
        _auto_author_maybe(tenant=tenant, need=need)


def _attach_learner(*, need: Need, learner: Learner, now: datetime) -> None:
    need.learner = learner
    need.target = Target.WORKER
    if not need.site_name and learner.site_id:
        need.site_name = learner.site.name
    need.updated_at = now
    need.save(update_fields=["learner", "target", "site_name", "updated_at"])
    _audit(tenant=need.tenant, need=need, actor="system:rematch", action="matched", details={"learnerId": str(learner.pk)})


def needs_rematch_learner(*, tenant_id: Any, learner_id: Any) -> int:
    """Attach parked (unmatched) needs to a learner who was just created or updated; return how many."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    learner = learner_get(tenant=tenant, learner_id=learner_id) if tenant else None
    if learner is None:
        return 0
    refs = [f"learner_id:{learner.pk}"]
    if learner.external_worker_id:
        refs.append(f"external_worker_id:{learner.external_worker_id}")
    if learner.email:
        refs.append(f"email:{learner.email}")
    matched = 0
    with transaction.atomic():
        parked = Need.objects.select_for_update(of=("self",)).select_related("tenant").filter(
            tenant=tenant, target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES, worker_ref__in=refs
        )
        for need in parked:
            _attach_learner(need=need, learner=learner, now=timezone.now())
            matched += 1
    return matched


def needs_rematch_unmatched(*, limit: int = 200) -> int:
    """Retry every parked need's worker lookup with all the keys its signals gave (the sweep's backstop)."""
    matched = 0
    ids = list(
        Need.objects.filter(target=Target.UNMATCHED, status__in=ACTIVE_NEED_STATUSES).order_by("updated_at").values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            need = Need.objects.select_for_update(of=("self",)).select_related("tenant").filter(pk=pk, target=Target.UNMATCHED).first()
            if need is None:
                continue
            for data in need.signals.order_by("-id").values_list("data", flat=True)[:20]:
                learner = learner_find(tenant=need.tenant, **_worker_keys(data))
                if learner is not None:
                    _attach_learner(need=need, learner=learner, now=timezone.now())
                    matched += 1
                    break
            else:
                Need.objects.filter(pk=pk).update(updated_at=timezone.now())
    return matched


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
            data={**need_json(need), "course": {"id": str(course.pk), "title": course.title, "status": course.status}, "automatic": automatic},
            subject_type="need",
            subject_id=str(need.pk),
        )
        _audit(
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


def _auto_author_maybe(*, tenant: Tenant, need: Need) -> Course | None:
    settings_row = InboxSettings.objects.select_for_update().filter(tenant=tenant).first()
    # Locking the settings row serialises auto-authoring per tenant, so one topic gets one draft.
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
            _audit(
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
    given = [name for name, value in (("learnerIds", learner_ids), ("groupId", group_id), ("site", site)) if value]
    if len(given) > 1:
        raise ValidationFailed({given[1]: f"give only one of learnerIds, groupId or site (got {', '.join(given)})"})
    tenant = need.tenant
    if learner_ids:
        learners, missing = learners_by_ids(tenant=tenant, learner_ids=[str(v) for v in learner_ids])
        if missing:
            raise ValidationFailed({"learner_ids": f"unknown learner id(s): {', '.join(missing[:10])}"})
        return "learners", learners
    if group_id:
        learners = learners_in_group(tenant=tenant, group_id=group_id)
        if learners is None:
            raise ValidationFailed({"group_id": "unknown group"})
        if not learners:
            raise ValidationFailed({"group_id": "the group has no active learners"})
        return "group", learners
    if site:
        learners = learners_in_site(tenant=tenant, site_name=site)
        if not learners:
            raise ValidationFailed({"site": f"no active learners at site {site[:200]!r}"})
        return "site", learners
    if need.target == Target.WORKER and need.learner_id:
        return "worker", [need.learner]
    if need.target == Target.COHORT and need.site_name:
        learners = learners_in_site(tenant=tenant, site_name=need.site_name)
        if not learners:
            raise ValidationFailed({"site": f"no active learners at site {need.site_name!r}; give learnerIds or groupId"})
        return "site", learners
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
            data={**need_json(locked), "offer": details},
            subject_type="need",
            subject_id=str(locked.pk),
        )
        _audit(tenant=locked.tenant, need=locked, actor=actor, action="offered", details=details)
        # Learners who had already completed a live assignment of it close the need at once.
        transaction.on_commit(lambda: need_close_if_complete(need_id=locked.pk))
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
            tenant=locked.tenant, event_type="need.dismissed", data=need_json(locked), subject_type="need", subject_id=str(locked.pk)
        )
        _audit(tenant=locked.tenant, need=locked, actor=actor, action="dismissed", details={"reason": reason})
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
            data={**need_json(need), "completedAssignments": len(statuses)},
            subject_type="need",
            subject_id=str(need.pk),
        )
        _audit(tenant=need.tenant, need=need, actor="system:completion", action="resolved", details={"assignments": len(statuses)})
    return True


def needs_close_for_assignment(*, tenant_id: Any, assignment_id: Any) -> int:
    """Check the needs an assignment was offered for, after it was completed (a learning hook)."""
    closed = 0
    for need_id in NeedAssignment.objects.filter(assignment_id=assignment_id, need__tenant_id=tenant_id).values_list(
        "need_id", flat=True
    ):
        closed += need_close_if_complete(need_id=need_id)
    return closed


# --- the signal map -----------------------------------------------------------------------------


def _map_entry_values(kind: Any, value: Any) -> tuple[str, dict[str, Any]]:
    import re

    if not isinstance(kind, str) or not re.match(r"^[a-z0-9][a-z0-9_.:-]{0,63}$", kind.strip().lower()):
        raise ValidationFailed({"map": f"{str(kind)[:64]!r}: a signal type is 1-64 of a-z, 0-9, '_', '-', '.', ':'"})
    if not isinstance(value, dict):
        raise ValidationFailed({"map": f"{kind}: must be an object with topic, category and/or severity"})
    unknown = set(value) - {"topic", "category", "severity"}
    if unknown:
        raise ValidationFailed({"map": f"{kind}.{sorted(unknown)[0]}: unknown field"})
    clean: dict[str, Any] = {"topic": "", "category": "", "severity": None}
    for field, limit in (("topic", 200), ("category", 100)):
        text = value.get(field)
        if text is None:
            continue
        if not isinstance(text, str) or len(text.strip()) > limit:
            raise ValidationFailed({"map": f"{kind}.{field}: must be a string of at most {limit} characters"})
        clean[field] = " ".join(text.split())
    severity = value.get("severity")
    if severity is not None:
        if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 4:
            raise ValidationFailed({"map": f"{kind}.severity: must be an integer from 1 to 4"})
        clean["severity"] = severity
    return kind.strip().lower(), clean


def signal_map_put(
    *,
    tenant: Tenant,
    actor: str,
    mapping: dict[str, Any],
    auto_author: bool,
    auto_author_threshold: int | None = None,
    authoring_quota_monthly: int | None = None,
) -> InboxSettings:
    """Replace the tenant's signal map and auto-author settings; audited, and applied to ingest at once."""
    if not isinstance(mapping, dict):
        raise ValidationFailed({"map": "must be an object of signal type → defaults"})
    if len(mapping) > 500:
        raise ValidationFailed({"map": "at most 500 signal types"})
    if not isinstance(auto_author, bool):
        raise ValidationFailed({"auto_author": "must be true or false"})
    for name, value in (("auto_author_threshold", auto_author_threshold), ("authoring_quota_monthly", authoring_quota_monthly)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000):
            raise ValidationFailed({name: "must be an integer from 0 to 10000"})
    if auto_author_threshold is not None and auto_author_threshold < 1:
        raise ValidationFailed({"auto_author_threshold": "must be at least 1"})
    entries = dict(_map_entry_values(kind, value) for kind, value in mapping.items())
    with transaction.atomic():
        settings_row, _ = InboxSettings.objects.select_for_update().get_or_create(tenant=tenant)
        before = {e.type: (e.topic, e.category, e.severity) for e in settings_row.entries.all()}
        settings_row.auto_author = auto_author
        if auto_author_threshold is not None:
            settings_row.auto_author_threshold = auto_author_threshold
        if authoring_quota_monthly is not None:
            settings_row.authoring_quota_monthly = authoring_quota_monthly
        settings_row.save()
        settings_row.entries.exclude(type__in=list(entries)).delete()
        for kind, values in entries.items():
            SignalMapEntry.objects.update_or_create(settings=settings_row, type=kind, defaults=values)
        _audit(
            tenant=tenant,
            actor=actor,
            action="signal_map_changed",
            details={
                "autoAuthor": auto_author,
                "added": sorted(set(entries) - set(before)),
                "removed": sorted(set(before) - set(entries)),
                "changed": sorted(k for k in set(entries) & set(before) if before[k] != tuple(entries[k].values())),
            },
        )
        transaction.on_commit(lambda: forget_ingest_context(slug=tenant.slug))
    return settings_row


def inbox_settings_ensure(*, tenant: Tenant) -> InboxSettings:
    """Return the tenant's stored inbox settings, creating the defaults row on first use."""
    row, _ = InboxSettings.objects.get_or_create(tenant=tenant)
    return row


def _audit(*, tenant: Tenant, actor: str, action: str, details: dict[str, Any], need: Need | None = None) -> AuditEntry:
    return AuditEntry.objects.create(tenant=tenant, need=need, actor=actor[:200], action=action, details=details)


__all__ = [
    "IngestResult",
    "inbox_settings_ensure",
    "inbox_settings_get",
    "need_author",
    "need_close_if_complete",
    "need_dismiss",
    "need_offer",
    "needs_close_for_assignment",
    "needs_rematch_learner",
    "needs_rematch_unmatched",
    "rejected_signal_reprocess",
    "signal_ingest",
    "signal_map_put",
    "signal_reject",
    "signal_resolve",
]
