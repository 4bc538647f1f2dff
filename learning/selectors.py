"""Reads of learners, courses, assignments, credentials and onboarding, always scoped to a tenant."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Callable, Iterable, Mapping, Sequence

import orjson
from django.core.cache import cache
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from learning.models import (
    Assignment,
    AssignmentStatus,
    Course,
    CourseStatus,
    Credential,
    Learner,
    LearnerCount,
    LearnerStatus,
    OnboardingCompletion,
    OnboardingStep,
)
from learning.topics import topic_key
from skillhub import localcache
from skillhub.db import IsoTimestamp, uses_postgres_statements, prepared_cursor
from skillhub.formats import iso
from skillhub.ids import uuid_or_none
from tenants.models import Group, Tenant
from webhooks.contract.core import LearnerData

# The list projection: timestamps formatted and group ids serialised by the database.
LEARNER_LIST_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "external_worker_id",
    "sa_id_number",
    "site__name",
    "role",
    "status",
)


def learner_list_values(queryset: QuerySet[Learner]) -> QuerySet:
    """Project learners for list pages, as cheaply as the database allows."""
    return queryset.values(
        *LEARNER_LIST_FIELDS,
        groups_json=Cast("group_ids", output_field=TextField()),
        created=IsoTimestamp("created_at"),
        updated=IsoTimestamp("updated_at"),
    )


# The prepared statement below selects the same projection, in this order.
_LEARNER_PAGE_COLUMNS = (*LEARNER_LIST_FIELDS, "groups_json", "created", "updated")
_LEARNER_PAGE_SQL = """
SELECT l.id, l.first_name, l.last_name, l.email, l.external_worker_id, l.sa_id_number, s.name, l.role, l.status,
       l.group_ids::text,
       to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(l.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM learning_learner l LEFT OUTER JOIN tenants_site s ON s.id = l.site_id
WHERE l.tenant_id = %s {condition}
ORDER BY l.id
LIMIT %s {offset}
"""
# The cursor form never uses OFFSET: its cost does not grow with depth.
_LEARNER_PAGE_AFTER = _LEARNER_PAGE_SQL.format(condition="AND l.id > %s", offset="")
_LEARNER_PAGE_FROM = _LEARNER_PAGE_SQL.format(condition="", offset="OFFSET %s")


def learner_page_fetcher(*, tenant: Tenant) -> Callable[[str | None, int, int], list[dict[str, Any]]] | None:
    """Return a prepared-statement fetch of unfiltered learner pages on PostgreSQL (None elsewhere).

    The same rows as `learner_list_values`, without compiling the ORM query and planning it again
    on every request: the two most common pages (first page, next cursor) cost a third less.
    """
    if not uses_postgres_statements():
        return None

    def fetch(after: str | None, offset: int, count: int) -> list[dict[str, Any]]:
        with prepared_cursor() as cursor:
            if after is None:
                cursor.execute(_LEARNER_PAGE_FROM, (tenant.pk, count, offset))
            else:
                cursor.execute(_LEARNER_PAGE_AFTER, (tenant.pk, uuid.UUID(after), count))
            return [dict(zip(_LEARNER_PAGE_COLUMNS, row)) for row in cursor.fetchall()]

    return fetch


def learner_row_json(row: dict[str, Any], *, tenant_id: str, groups: Any) -> LearnerData:
    """Return the API (and webhook) representation of a learner from a list-projection row.

    Built as the contract's `LearnerData`, the one declaration of the shape (the OpenAPI component
    `LearnerOutput` and the learner.* event schemas are generated from it; mypy holds these keys to it).
    """
    return LearnerData(
        id=str(row["id"]),
        tenantId=tenant_id,
        firstName=row["first_name"],
        lastName=row["last_name"],
        email=row["email"] or None,
        externalWorkerId=row["external_worker_id"] or None,
        saIdNumber=row["sa_id_number"] or None,
        site=row["site__name"],
        role=row["role"] or None,
        status=row["status"],
        groups=groups,  # a list, or the database's own JSON text passed through (orjson.Fragment)
        createdAt=row["created"],
        updatedAt=row["updated"],
    )


def learner_list_row_json(row: dict[str, Any], tenant_id: str) -> LearnerData:
    """Return the representation of a `learner_list_values` row; group ids pass through as raw JSON."""
    return learner_row_json(row, tenant_id=tenant_id, groups=orjson.Fragment(row["groups_json"] or "[]"))


def learner_json(learner: Learner) -> LearnerData:
    """Return the representation of one learner instance (plain JSON types, fit for a JSON column)."""
    row = {field: getattr(learner, field) for field in LEARNER_LIST_FIELDS if "__" not in field}
    row["site__name"] = learner.site.name if learner.site is not None else None
    row["created"], row["updated"] = iso(learner.created_at), iso(learner.updated_at)
    return learner_row_json(row, tenant_id=str(learner.tenant_id), groups=list(learner.group_ids or []))


def learner_queryset(*, tenant: Tenant) -> QuerySet[Learner]:
    """Return the tenant's learners in their stable order."""
    return Learner.objects.filter(tenant=tenant).order_by("id")


def learner_get(*, tenant: Tenant, learner_id: str | uuid.UUID) -> Learner | None:
    """Return the tenant's learner with this id, or None (also for malformed ids)."""
    try:
        pk = learner_id if isinstance(learner_id, uuid.UUID) else uuid.UUID(str(learner_id))
    except ValueError:
        return None
    return Learner.objects.select_related("site").filter(tenant=tenant, pk=pk).first()


def learner_find(*, tenant: Tenant, external_worker_id: str = "", email: str = "", learner_id: str = "") -> Learner | None:
    """Find a learner by external worker id, then email, then id (the signal-inbox order)."""
    keys = {"external_worker_id": external_worker_id, "email": email, "learner_id": learner_id}
    return learners_find_many(tenant=tenant, keys=[keys])[0]


def learners_find_many(*, tenant: Tenant, keys: Sequence[Mapping[str, str]]) -> list[Learner | None]:
    """For each set of worker keys, the learner `learner_find` would return; at most one query per key kind.

    Each set is tried by external worker id, then email (case-insensitive), then learner id; a
    kind is looked up only for the sets still unmatched. Learners come with their site.
    """
    found: list[Learner | None] = [None] * len(keys)
    learners = Learner.objects.select_related("site").filter(tenant=tenant)
    for kind in ("external_worker_id", "email", "learner_id"):
        wanted: dict[Any, list[int]] = {}
        for index, key_set in enumerate(keys):
            value = _lookup_value(kind, key_set.get(kind) or "") if found[index] is None else None
            if value is not None:
                wanted.setdefault(value, []).append(index)
        if not wanted:
            continue
        field = "pk" if kind == "learner_id" else kind
        for learner in learners.filter(**{f"{field}__in": list(wanted)}):
            for index in wanted.get(getattr(learner, field), ()):
                found[index] = learner
    return found


def _lookup_value(kind: str, value: str) -> Any:
    """Return the value a key kind is looked up by (None when it names nobody)."""
    value = value.strip()
    if not value:
        return None
    if kind == "email":
        return value.lower()
    if kind == "learner_id":
        return uuid_or_none(value)
    return value


LEARNER_TOTAL_CACHE_SECONDS = 30


def learner_total_cache_key(tenant_id: Any) -> str:
    return f"learner-total:{tenant_id}"


def learner_total(*, tenant: Tenant) -> int:
    """Return the tenant's learner count as the services keep it (cached; writes drop the cache)."""
    key = learner_total_cache_key(tenant.pk)

    def shared() -> int:
        total = cache.get(key)
        if total is None:
            total = int(LearnerCount.objects.filter(tenant=tenant).values_list("count", flat=True).first() or 0)
            cache.set(key, total, LEARNER_TOTAL_CACHE_SECONDS)
        return total

    return localcache.get_or_load(key, 2, shared)


# --- courses, assignments, credentials, onboarding --------------------------------------


def course_json(course: Course) -> dict[str, Any]:
    """Return the API (and webhook) representation of a course."""
    return {
        "id": str(course.pk),
        "tenantId": str(course.tenant_id),
        "title": course.title,
        "topic": course.topic or None,
        "category": course.category or None,
        "status": course.status,
        "outline": course.outline,
        "createdBy": course.created_by or None,
        "authoredFromNeed": course.authored_from_need or None,
        "publishedAt": iso(course.published_at),
        "createdAt": iso(course.created_at),
        "updatedAt": iso(course.updated_at),
    }


def course_queryset(*, tenant: Tenant, status: str | None = None) -> QuerySet[Course]:
    """Return the tenant's courses in their stable order."""
    queryset = Course.objects.filter(tenant=tenant).order_by("id")
    return queryset.filter(status=status) if status else queryset


def course_get(*, tenant: Tenant, course_id: str | uuid.UUID) -> Course | None:
    """Return the tenant's course with this id, or None (also for malformed ids)."""
    pk = uuid_or_none(course_id)
    return Course.objects.filter(tenant=tenant, pk=pk).first() if pk else None


def course_match_topic(*, tenant: Tenant, topic: str) -> tuple[Course | None, str]:
    """Return the published course that fits a topic and how: ("exact" | "tolerant"), or (None, "")."""
    return course_match_topics(tenant=tenant, topics=[topic]).get(topic, (None, ""))


def course_match_topics(*, tenant: Tenant, topics: Iterable[str]) -> dict[str, tuple[Course | None, str]]:
    """For each topic, the published course that fits it and how ("exact" | "tolerant"), in one query.

    Exact: the course topic equals the topic (trimmed); tolerant: both have the same topic key.
    Several fits: the most recently published wins. Topics that fit nothing map to (None, "").
    """
    labels = {topic: (topic or "").strip() for topic in topics}
    keys = {topic: topic_key(label) for topic, label in labels.items() if label}
    matches: dict[str, tuple[Course | None, str]] = {topic: (None, "") for topic in labels}
    if not keys:
        return matches
    published = Course.objects.filter(tenant=tenant, status=CourseStatus.PUBLISHED)
    wanted_labels = {label for label in labels.values() if label}
    wanted_keys = {key for key in keys.values() if key}
    candidates = published.filter(Q(topic__in=wanted_labels) | Q(topic_key__in=wanted_keys)).order_by("-published_at", "id")
    by_label: dict[str, Course] = {}
    by_key: dict[str, Course] = {}
    for course in candidates:
        by_label.setdefault(course.topic, course)
        by_key.setdefault(course.topic_key, course)
    for topic, key in keys.items():
        if labels[topic] in by_label:
            matches[topic] = (by_label[labels[topic]], "exact")
        elif key and key in by_key:
            matches[topic] = (by_key[key], "tolerant")
    return matches


def assignment_json(assignment: Assignment) -> dict[str, Any]:
    """Return the API (and webhook) representation of an assignment."""
    return {
        "id": str(assignment.pk),
        "tenantId": str(assignment.tenant_id),
        "learnerId": str(assignment.learner_id),
        "courseId": str(assignment.course_id),
        "dueDate": assignment.due_date.isoformat() if assignment.due_date else None,
        "status": assignment.status,
        "source": assignment.source or None,
        "assignedBy": assignment.assigned_by or None,
        "startedAt": iso(assignment.started_at),
        "completedAt": iso(assignment.completed_at),
        "createdAt": iso(assignment.created_at),
        "updatedAt": iso(assignment.updated_at),
    }


def assignment_queryset(*, tenant: Tenant) -> QuerySet[Assignment]:
    """Return the tenant's assignments in their stable order."""
    return Assignment.objects.filter(tenant=tenant).order_by("id")


def assignment_get(*, tenant: Tenant, assignment_id: str | uuid.UUID) -> Assignment | None:
    """Return the tenant's assignment with this id, or None (also for malformed ids)."""
    pk = uuid_or_none(assignment_id)
    return Assignment.objects.select_related("learner", "course").filter(tenant=tenant, pk=pk).first() if pk else None


def learners_in_site(*, tenant: Tenant, site_name: str) -> list[Learner]:
    """Return the tenant's active learners at a site (by name)."""
    return list(
        Learner.objects.filter(tenant=tenant, site__name=site_name, status=LearnerStatus.ACTIVE).order_by("id")
    )


def learners_in_group(*, tenant: Tenant, group_id: str | uuid.UUID) -> list[Learner] | None:
    """Return the active learners of one of the tenant's groups, or None when there is no such group."""
    pk = uuid_or_none(group_id)
    if pk is None or not Group.objects.filter(tenant=tenant, pk=pk).exists():
        return None
    return list(Learner.objects.filter(tenant=tenant, groups__id=pk, status=LearnerStatus.ACTIVE).order_by("id"))


def learners_by_ids(*, tenant: Tenant, learner_ids: list[str]) -> tuple[list[Learner], list[str]]:
    """Return the tenant's learners with these ids, and the ids that matched none."""
    wanted = {str(value): uuid_or_none(value) for value in learner_ids}
    found = {str(l.pk): l for l in Learner.objects.filter(tenant=tenant, pk__in=[v for v in wanted.values() if v])}
    missing = [raw for raw, pk in wanted.items() if pk is None or str(pk) not in found]
    return [found[str(pk)] for pk in wanted.values() if pk and str(pk) in found], missing


def credentials_by_learner(*, tenant: Tenant, learner_ids: list[Any]) -> dict[Any, list[Credential]]:
    """Return each learner's credentials, in one query."""
    result: dict[Any, list[Credential]] = {}
    for credential in Credential.objects.filter(tenant=tenant, learner_id__in=learner_ids).order_by("valid_until", "id"):
        result.setdefault(credential.learner_id, []).append(credential)
    return result


def onboarding_missing_by_learner(*, tenant: Tenant, learners: list[Learner]) -> dict[Any, list[str]]:
    """Return, per learner, the names of the onboarding steps (tenant-wide or of their site) not completed."""
    steps = list(OnboardingStep.objects.filter(tenant=tenant).order_by("position", "id"))
    if not steps:
        return {}
    done: set[tuple[Any, int]] = set(
        OnboardingCompletion.objects.filter(
            step__tenant=tenant, learner_id__in=[l.pk for l in learners], undone_at__isnull=True
        ).values_list(
            "learner_id", "step_id"
        )
    )
    result: dict[Any, list[str]] = {}
    for learner in learners:
        missing = [
            s.name
            for s in steps
            if (s.site_id is None or s.site_id == learner.site_id) and (learner.pk, s.pk) not in done
        ]
        if missing:
            result[learner.pk] = missing
    return result


def overdue_assignments_by_learner(*, tenant: Tenant, learner_ids: list[Any], today: date) -> dict[Any, list[Assignment]]:
    """Return each learner's live assignments whose due date has passed."""
    result: dict[Any, list[Assignment]] = {}
    rows = (
        Assignment.objects.select_related("course")
        .filter(tenant=tenant, learner_id__in=learner_ids, due_date__lt=today)
        .exclude(status=AssignmentStatus.COMPLETED)
        .order_by("due_date", "id")
    )
    for assignment in rows:
        result.setdefault(assignment.learner_id, []).append(assignment)
    return result

