"""Writes of learners, courses, assignments, credentials and onboarding; events go in the same transaction."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Mapping

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from learning.models import (
    Assignment,
    AssignmentStatus,
    Course,
    CourseStatus,
    Learner,
    LearnerCount,
    LearnerStatus,
)
from learning.events import assignment_data, learner_data, learner_updated_data
from learning.signals import assignment_completed, assignment_completing, learner_saved
from learning.statements import learner_insert
from learning.selectors import learner_total_cache_key
from learning.topics import topic_key, topic_label
from learning.validators import sa_id_number_problem
from skillhub import localcache
from skillhub.errors import ConflictError, NotFoundError, ValidationFailed
from skillhub.hooks import after_commit, send_on_commit
from tenants import audit
from tenants.models import Group, Tenant
from tenants.services import site_get_or_create
from webhooks.outbox import record_event

# API field name → model field, for the fields a client may set.
LEARNER_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "externalWorkerId": "external_worker_id",
    "saIdNumber": "sa_id_number",
    "site": "site",
    "role": "role",
    "status": "status",
    "groups": "groups",
}


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    clean = dict(values)
    for field in ("first_name", "last_name", "external_worker_id", "role", "sa_id_number"):
        if field in clean and clean[field] is not None:
            clean[field] = str(clean[field]).strip()
    if "email" in clean and clean["email"] is not None:
        clean["email"] = str(clean["email"]).strip().lower()
    for field in ("email", "external_worker_id", "sa_id_number", "role"):
        if field in clean and clean[field] is None:
            clean[field] = ""
    return clean


def _validate(values: dict[str, Any], *, creating: bool) -> None:
    errors: dict[str, str] = {}
    for field in ("first_name", "last_name"):
        if (creating or field in values) and not values.get(field):
            errors[field] = "This field is required"
    sa_id = values.get("sa_id_number")
    if sa_id:
        problem = sa_id_number_problem(sa_id)
        if problem:
            errors["sa_id_number"] = problem
    status = values.get("status")
    if status is not None and status not in LearnerStatus.values:
        errors["status"] = f"must be one of {', '.join(LearnerStatus.values)}"
    if errors:
        first_field = next(iter(errors))
        message = "Invalid SA ID number" if first_field == "sa_id_number" else None
        raise ValidationFailed(errors, message)


_UNIQUE = (("email", "email"), ("external_worker_id", "external worker id"))
_LABEL = dict(_UNIQUE)


def _check_unique(*, tenant: Tenant, values: dict[str, Any], exclude_id: Any = None) -> None:
    """Refuse an email or external worker id another learner of the tenant holds (email named first); one query."""
    wanted = {field: values[field] for field, _label in _UNIQUE if values.get(field)}
    if not wanted:
        return
    match = Q()
    for field, value in wanted.items():
        match |= Q(**{field: value})
    clashes = Learner.objects.filter(match, tenant=tenant).order_by()
    if exclude_id is not None:
        clashes = clashes.exclude(pk=exclude_id)
    found = list(clashes.values(*wanted)[:2])
    for field, label in _UNIQUE:
        if field in wanted and any(row[field] == wanted[field] for row in found):
            raise ConflictError(f"A learner with this {label} already exists", field=field, reason="already exists")


def _resolve_relations(*, tenant: Tenant, values: dict[str, Any]) -> tuple[dict[str, Any], list[Group] | None]:
    values = dict(values)
    groups = None
    if "site" in values:
        site_name = values["site"]
        values["site"] = site_get_or_create(tenant=tenant, name=site_name) if site_name else None
    if "groups" in values:
        wanted = [str(g) for g in (values.pop("groups") or [])]
        groups = list(Group.objects.filter(tenant=tenant, pk__in=wanted)) if wanted else []
        if len(groups) != len(set(wanted)):
            raise ValidationFailed({"groups": "unknown group id"})
    return values, groups


def _raise_conflict(exc: IntegrityError) -> None:
    # PostgreSQL names the constraint (the message also quotes the value, which may say anything);
    # SQLite names the columns.
    diag = getattr(exc.__cause__, "diag", None)
    text = (getattr(diag, "constraint_name", None) or str(exc)).lower()
    field = "external_worker_id" if "worker_id" in text else "email"
    label = "external worker id" if field == "external_worker_id" else "email"
    raise ConflictError(f"A learner with this {label} already exists", field=field, reason="already exists") from exc


def _set_groups(learner: Learner, groups: list[Group]) -> None:
    learner.groups.set(groups)
    learner.group_ids = sorted(str(group.pk) for group in groups)
    Learner.objects.filter(pk=learner.pk).update(group_ids=learner.group_ids)


def _after_save(learner: Learner) -> None:
    send_on_commit(learner_saved, sender=Learner, tenant_id=learner.tenant_id, learner_id=learner.pk)


def learner_create(*, tenant: Tenant, values: dict[str, Any]) -> Learner:
    """Create a learner from model-field values and record `learner.created`."""
    values = _normalise(values)
    _validate(values, creating=True)
    if values.get("site"):
        _check_unique(tenant=tenant, values=values)  # before a new site is written for a learner refused
    values, groups = _resolve_relations(tenant=tenant, values=values)
    learner = Learner(tenant=tenant, **values)
    learner.created_at = learner.updated_at = timezone.now()
    try:
        # No savepoint inside a caller's transaction (a SCIM create, an idempotent POST): two round
        # trips fewer, and a database error (a race for an email the check saw free) ends the
        # caller's transaction too, which is all a caller does with it. One that carries on after a
        # refused row opens a savepoint per call itself (learning.bulk). The same in learner_update.
        with transaction.atomic(savepoint=False):
            # One statement on PostgreSQL: the check for a learner holding the email or worker id, the
            # row, and the count (its row stays locked until commit: every create of the tenant waits).
            clash, counted = learner_insert(learner)
            if clash is None:
                audit.record_created(learner)  # a raw insert sends no post_save
                if groups:
                    _set_groups(learner, groups)
                _record(learner, "learner.created", learner_data(learner))
                _count_changed(tenant=tenant, counted=counted)
    except IntegrityError as exc:
        _raise_conflict(exc)
    if clash is not None:
        # Raised outside the block: nothing was written, and a caller's transaction carries on.
        raise ConflictError(f"A learner with this {_LABEL[clash]} already exists", field=clash, reason="already exists")
    _after_save(learner)
    return learner


def learner_update(*, learner: Learner, values: dict[str, Any]) -> Learner:
    """Apply changes to a learner and record `learner.updated` with the changed fields."""
    tenant = learner.tenant
    values = _normalise(values)
    _validate(values, creating=False)
    _check_unique(tenant=tenant, values=values, exclude_id=learner.pk)
    values, groups = _resolve_relations(tenant=tenant, values=values)
    before = learner_data(learner)
    try:
        with transaction.atomic(savepoint=False):
            for field, value in values.items():
                setattr(learner, field, value)
            learner.save()
            if groups is not None:
                _set_groups(learner, groups)
            updated = learner_updated_data(learner_data(learner), before=before)
            if updated is not None:
                _record(learner, "learner.updated", updated)
    except IntegrityError as exc:
        _raise_conflict(exc)
    _after_save(learner)
    return learner


def learner_groups_change(*, learner: Learner, add: Iterable[Group] = (), remove: Iterable[Group] = ()) -> bool:
    """Add the learner to groups and take it out of others; record `learner.updated` when that changed its groups."""
    current = {str(pk): pk for pk in learner.groups.values_list("pk", flat=True)}
    wanted = dict(current)
    for group in add:
        wanted[str(group.pk)] = group.pk
    for group in remove:
        wanted.pop(str(group.pk), None)
    if wanted.keys() == current.keys():
        return False
    before = learner_data(learner)
    with transaction.atomic():
        _set_groups(learner, list(Group.objects.filter(pk__in=list(wanted.values()))))
        learner.save(update_fields=["updated_at"])
        updated = learner_updated_data(learner_data(learner), before=before)
        if updated is not None:
            _record(learner, "learner.updated", updated)
    _after_save(learner)
    return True


@transaction.atomic
def learner_delete(*, learner: Learner) -> None:
    """Delete a learner and record `learner.deleted` with its last state."""
    tenant = learner.tenant
    data = learner_data(learner)
    learner_id = str(learner.pk)
    learner.delete()
    _change_count(tenant=tenant, delta=-1)
    record_event(tenant=tenant, event_type="learner.deleted", data=data, subject_type="learner", subject_id=learner_id)


def _record(learner: Learner, event_type: str, data: Mapping[str, Any]) -> None:
    record_event(tenant=learner.tenant, event_type=event_type, data=data, subject_type="learner", subject_id=str(learner.pk))


def _change_count(*, tenant: Tenant, delta: int) -> None:
    updated = LearnerCount.objects.filter(tenant=tenant).update(count=F("count") + delta)
    if not updated:
        learner_count_recompute(tenant=tenant)
    after_commit(_forget_total, tenant)


def _count_changed(*, tenant: Tenant, counted: bool) -> None:
    """After a statement raised the tenant's learner count (or found no count row to raise)."""
    if not counted:
        learner_count_recompute(tenant=tenant)
    after_commit(_forget_total, tenant)


def _forget_total(tenant: Tenant) -> None:
    cache.delete(learner_total_cache_key(tenant.pk))
    localcache.forget(learner_total_cache_key(tenant.pk))


def learner_count_recompute(*, tenant: Tenant) -> int:
    """Set the kept learner count from a real COUNT (after bulk loads or repairs)."""
    count = Learner.objects.filter(tenant=tenant).count()
    LearnerCount.objects.update_or_create(tenant=tenant, defaults={"count": count})
    after_commit(_forget_total, tenant)
    return count


# --- courses and assignments ------------------------------------------------------------

_COURSE_TEXT_LIMITS = {"title": 200, "topic": 200, "category": 100}


def _course_values(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field, limit in _COURSE_TEXT_LIMITS.items():
        if field not in values:
            continue
        raw = values[field]
        text = topic_label(raw) if isinstance(raw, str) else ""
        if raw is not None and not isinstance(raw, str):
            errors[field] = "must be a string"
        elif len(text) > limit:
            errors[field] = f"must be at most {limit} characters"
        clean[field] = text
    if (creating or "title" in values) and not clean.get("title"):
        errors.setdefault("title", "This field is required")
    if "outline" in values:
        if not isinstance(values["outline"], dict):
            errors["outline"] = "must be a JSON object"
        clean["outline"] = values["outline"]
    if errors:
        raise ValidationFailed(errors)
    return clean


def course_create(
    *,
    tenant: Tenant,
    title: str,
    topic: str = "",
    category: str = "",
    outline: dict[str, Any] | None = None,
    created_by: str = "",
    authored_from_need: str = "",
) -> Course:
    """Create a draft course; it is matched and offered only once published."""
    values = _course_values({"title": title, "topic": topic, "category": category, "outline": outline or {}}, creating=True)
    return Course.objects.create(
        tenant=tenant,
        topic_key=topic_key(values["topic"] or values["title"]),
        created_by=created_by[:200],
        authored_from_need=str(authored_from_need)[:64],
        **values,
    )


def course_update(*, course: Course, values: dict[str, Any]) -> Course:
    """Change a course's title, topic, category or outline."""
    clean = _course_values(values, creating=False)
    for field, value in clean.items():
        setattr(course, field, value)
    course.topic_key = topic_key(course.topic or course.title)
    course.save()
    return course


def course_publish(*, course: Course) -> Course:
    """Publish a course so it can be matched to needs and assigned; publishing twice is a no-op."""
    if course.status != CourseStatus.PUBLISHED:
        course.status = CourseStatus.PUBLISHED
        course.published_at = timezone.now()
        course.save(update_fields=["status", "published_at", "updated_at"])
    return course


def course_archive(*, course: Course) -> Course:
    """Archive a course: it is no longer offered or matched to needs; its assignments stay as they are."""
    if course.status != CourseStatus.ARCHIVED:
        course.status = CourseStatus.ARCHIVED
        course.save(update_fields=["status", "updated_at"])
    return course


def assignment_create(
    *,
    tenant: Tenant,
    learner: Learner,
    course: Course,
    due_date: date | None = None,
    source: str = "",
    assigned_by: str = "",
) -> tuple[Assignment, bool]:
    """Assign a published course to a learner and record `course.enrolled`; a live one is reused."""
    if learner.tenant_id != tenant.pk or course.tenant_id != tenant.pk:
        raise NotFoundError("Learner or course not found")
    if course.status != CourseStatus.PUBLISHED:
        raise ValidationFailed({"course_id": "course is a draft: publish it before assigning it"})
    live = (AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED)
    existing = Assignment.objects.filter(learner=learner, course=course, status__in=live).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                tenant=tenant,
                learner=learner,
                course=course,
                due_date=due_date,
                source=source[:80],
                assigned_by=assigned_by[:200],
            )
            record_event(
                tenant=tenant,
                event_type="course.enrolled",
                data=assignment_data(assignment),
                subject_type="assignment",
                subject_id=str(assignment.pk),
            )
    except IntegrityError:
        # Another request assigned the same course to the same learner a moment ago.
        return Assignment.objects.get(learner=learner, course=course, status__in=live), False
    return assignment, True


def assignment_complete(*, assignment: Assignment, completed_at: datetime | None = None) -> Assignment:
    """Mark an assignment completed and record `course.completed`; completing twice is a no-op."""
    with transaction.atomic():
        locked = Assignment.objects.select_for_update(of=("self",)).select_related("course").get(pk=assignment.pk)
        if locked.status == AssignmentStatus.COMPLETED:
            return locked
        locked.status = AssignmentStatus.COMPLETED
        locked.completed_at = completed_at or timezone.now()
        locked.save(update_fields=["status", "completed_at", "updated_at"])
        data = assignment_data(locked)
        record_event(
            tenant=locked.tenant,
            event_type="course.completed",
            data=data,
            subject_type="assignment",
            subject_id=str(locked.pk),
        )
        record_event(
            tenant=locked.tenant,
            event_type="assignment.completed",
            data=data,
            subject_type="assignment",
            subject_id=str(locked.pk),
        )
        assignment_completing.send(sender=Assignment, assignment=locked)
        send_on_commit(assignment_completed, sender=Assignment, tenant_id=locked.tenant_id, assignment_id=locked.pk)
    return locked
