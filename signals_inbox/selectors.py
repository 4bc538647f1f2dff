"""Reads of signals, needs, the signal map and readiness; every one is given the tenant."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from learning.models import Learner
from learning.selectors import (
    assignment_json,
    credentials_by_learner,
    learner_queryset,
    onboarding_missing_by_learner,
    overdue_assignments_by_learner,
)
from signals_inbox.models import (
    SIGNATURE_TOLERANCE_SECONDS,
    ACTIVE_NEED_STATUSES,
    InboxSettings,
    Need,
    RejectedSignal,
    Signal,
    SignalMapEntry,
)
from learning.topics import topic_key
from signals_inbox.parsing import MapEntry
from skillhub.api.pagination import paginate
from skillhub import localcache
from skillhub.cache import cache_is_process_local
from skillhub.formats import iso
from tenants.models import Tenant
from tenants.selectors import signal_secrets_verifying

# --- the ingest context: tenant id + signal map, cached like the secrets ------------------

_CONTEXT_CACHE_SECONDS = 300
_CONTEXT_MEMO_SECONDS = 2.0


@dataclass(frozen=True)
class IngestContext:
    tenant_id: uuid.UUID
    signal_map: dict[str, MapEntry]


def _context_key(slug: str) -> str:
    return f"signal-context:{slug}"


def ingest_context(*, slug: str) -> IngestContext | None:
    """Return what ingest needs about a tenant (id, signal map), from the process memo or the shared cache."""
    return localcache.get_or_load(_context_key(slug), _CONTEXT_MEMO_SECONDS, lambda: _ingest_context_shared(slug))


def _ingest_context_shared(slug: str) -> IngestContext | None:
    cached = cache.get(_context_key(slug))
    if cached is None:
        tenant = Tenant.objects.filter(slug=slug).only("id").first()
        if tenant is None:
            return None
        entries = SignalMapEntry.objects.filter(settings__tenant=tenant).values_list("type", "topic", "category", "severity")
        cached = (str(tenant.pk), [list(row) for row in entries])
        cache.set(_context_key(slug), cached, _CONTEXT_CACHE_SECONDS)
    tenant_id, rows = cached
    return IngestContext(
        tenant_id=uuid.UUID(tenant_id),
        signal_map={kind: MapEntry(topic=topic, category=category, severity=severity) for kind, topic, category, severity in rows},
    )


def forget_ingest_context(*, slug: str | None = None) -> None:
    """Drop the cached context so a changed signal map applies at once (other processes within seconds)."""
    if slug is None:
        localcache.forget_prefix(_context_key(""))
        return
    localcache.forget(_context_key(slug))
    cache.delete(_context_key(slug))


# --- the signing policy: which signature forms a tenant accepts ----------------------------

_SIGNING_CACHE_SECONDS = 600


def _signing_key(slug: str) -> str:
    return f"signal-signing:{slug}"


def timestamped_signatures_required(*, slug: str, fresh: bool = False) -> bool:
    """Say whether the tenant with this slug refuses the plain body signature (False for an unknown slug).

    Cached like the signal secrets (`tenants.selectors.signal_secrets_for_slug`): in the shared
    cache when there is one, read from the database when the cache is per process or `fresh`.
    """
    shared = not cache_is_process_local()
    key = _signing_key(slug)
    cached = cache.get(key) if shared and not fresh else None
    if cached is None:
        cached = InboxSettings.objects.filter(tenant__slug=slug, require_timestamped_signatures=True).exists()
        if shared:
            cache.set(key, cached, _SIGNING_CACHE_SECONDS)
    return bool(cached)


def forget_signing_policy(*, slug: str) -> None:
    """Drop the cached policy so a change applies at once (other processes within seconds)."""
    cache.delete(_signing_key(slug))


def signal_signing_json(*, tenant: Tenant) -> dict[str, Any]:
    """Return the tenant's signing settings and the secrets that verify now (prefixes only)."""
    settings = inbox_settings_get(tenant=tenant)
    return {
        "requireTimestampedSignatures": settings.require_timestamped_signatures,
        "timestampToleranceSeconds": SIGNATURE_TOLERANCE_SECONDS,
        "secrets": [
            {"prefix": secret.prefix, "createdAt": iso(secret.created_at), "validUntil": iso(secret.valid_until)}
            for secret in signal_secrets_verifying(tenant=tenant)
        ],
    }


# --- the signal map -------------------------------------------------------------------------


def inbox_settings_get(*, tenant: Tenant) -> InboxSettings:
    """Return the tenant's inbox settings (defaults when never saved; not stored by this read)."""
    found = InboxSettings.objects.filter(tenant=tenant).first()
    return found if found is not None else InboxSettings(tenant=tenant)


def signal_map_json(*, tenant: Tenant) -> dict[str, Any]:
    """Return the signal map as the admin API shows it: `{"map": {...}, "autoAuthor": …}` and the settings."""
    settings = inbox_settings_get(tenant=tenant)
    entries = SignalMapEntry.objects.filter(settings__tenant=tenant).order_by("type") if settings.pk else []
    mapping = {}
    for entry in entries:
        item: dict[str, Any] = {}
        if entry.topic:
            item["topic"] = entry.topic
        if entry.category:
            item["category"] = entry.category
        if entry.severity is not None:
            item["severity"] = entry.severity
        mapping[entry.type] = item
    return {
        "map": mapping,
        "autoAuthor": settings.auto_author,
        "autoAuthorThreshold": settings.auto_author_threshold,
        "authoringQuotaMonthly": settings.authoring_quota_monthly,
    }


# --- signals and needs ----------------------------------------------------------------------


def signal_json(signal: Signal) -> dict[str, Any]:
    """Return the API representation of a signal: the data point as it arrived."""
    return {
        "id": signal.id,
        "needId": str(signal.need_id),
        "deduped": signal.deduped,
        "event": signal.event,
        "type": signal.type,
        "data": signal.data,
        "receivedAt": iso(signal.received_at),
        "resolvedAt": iso(signal.resolved_at),
    }


SIGNAL_STATUSES = ("unresolved", "resolved")


def signal_queryset(*, tenant: Tenant, status: str = "") -> QuerySet[Signal]:
    """Return the tenant's signals, oldest first; `unresolved` ones are the resolution backlog."""
    queryset = Signal.objects.filter(tenant=tenant).order_by("id")
    if status:
        queryset = queryset.filter(resolved_at__isnull=status == "unresolved")
    return queryset


def signal_get(*, tenant: Tenant, signal_id: str) -> Signal | None:
    """Return the tenant's signal with this id, or None."""
    return Signal.objects.filter(tenant=tenant, pk=str(signal_id)[:40]).first()


def need_json(need: Need) -> dict[str, Any]:
    """Return the API (and need.* webhook) representation of a need."""
    recommendation = None
    course = need.recommended_course if need.recommended_course_id else None
    if course is not None:
        recommendation = {"courseId": str(course.pk), "title": course.title, "match": need.match or None}
    return {
        "id": str(need.pk),
        "tenantId": str(need.tenant_id),
        "status": need.status,
        "type": need.type,
        "topic": need.topic,
        "category": need.category or None,
        "severity": need.severity,
        "dedupeKey": need.dedupe_key,
        "target": need.target,
        "learnerId": str(need.learner_id) if need.learner_id else None,
        "workerRef": need.worker_ref or None,
        "site": need.site_name or None,
        "action": need.action or None,
        "recommendation": recommendation,
        "authoredCourseId": str(need.authored_course_id) if need.authored_course_id else None,
        "offeredCourseId": str(need.offered_course_id) if need.offered_course_id else None,
        "payload": need.payload,
        "signalCount": need.signal_count,
        "firstSeenAt": iso(need.first_seen_at),
        "lastSeenAt": iso(need.last_seen_at),
        "matchedAt": iso(need.resolved_at),
        # Deprecated alias of matchedAt (it never meant status "resolved"); removed in the next release.
        "resolvedAt": iso(need.resolved_at),
        "closedAt": iso(need.closed_at),
        "dismissReason": need.dismiss_reason or None,
        "createdAt": iso(need.created_at),
        "updatedAt": iso(need.updated_at),
    }


def need_detail_json(need: Need, *, signal_limit: int = 100) -> dict[str, Any]:
    """Return a need with its signals (newest first, bounded) and its assignments."""
    signals = list(need.signals.order_by("-id")[:signal_limit])
    assignments = list(need.assignments.order_by("id"))
    return {
        **need_json(need),
        "signals": [signal_json(s) for s in signals],
        "assignments": [assignment_json(a) for a in assignments],
    }


def need_queryset(*, tenant: Tenant, filters: dict[str, Any] | None = None) -> QuerySet[Need]:
    """Return the tenant's needs, filtered by status, topic, site and severity, oldest first."""
    queryset = Need.objects.filter(tenant=tenant).select_related("recommended_course").order_by("id")
    filters = filters or {}
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("topic"):
        topic = filters["topic"]
        queryset = queryset.filter(Q(topic__iexact=topic) | Q(topic_key=topic_key(topic)))
    if filters.get("site"):
        queryset = queryset.filter(site_name=filters["site"])
    if filters.get("severity"):
        queryset = queryset.filter(severity=filters["severity"])
    return queryset


def need_get(*, tenant: Tenant, need_id: Any) -> Need | None:
    """Return the tenant's need with this id, or None (also for malformed ids)."""
    try:
        pk = need_id if isinstance(need_id, uuid.UUID) else uuid.UUID(str(need_id))
    except ValueError:
        return None
    return Need.objects.select_related("recommended_course", "tenant").filter(tenant=tenant, pk=pk).first()


def rejected_signal_queryset(*, tenant: Tenant) -> QuerySet[RejectedSignal]:
    """Return the tenant's rejected-signal log, oldest first."""
    return RejectedSignal.objects.filter(tenant=tenant).order_by("id")


def rejected_signal_json(row: RejectedSignal) -> dict[str, Any]:
    """Return the API representation of a rejected signal."""
    return {
        "id": row.pk,
        "reason": row.reason,
        "body": row.body,
        "receivedAt": iso(row.received_at),
        "reprocessedAt": iso(row.reprocessed_at),
        "reprocessedSignalId": row.reprocessed_signal_id or None,
    }


# --- readiness ------------------------------------------------------------------------------

EXPIRING_WITHIN_DAYS = 30
BLOCKING_SEVERITY = 4


def _open_needs_for(*, tenant: Tenant, learners: list[Learner]) -> tuple[dict[Any, list[Need]], dict[str, list[Need]]]:
    learner_ids = [l.pk for l in learners]
    sites = {l.site.name for l in learners if l.site is not None}
    rows = Need.objects.filter(tenant=tenant, status__in=ACTIVE_NEED_STATUSES).filter(
        Q(learner_id__in=learner_ids) | Q(target="cohort", site_name__in=sites)
    )
    by_learner: dict[Any, list[Need]] = {}
    by_site: dict[str, list[Need]] = {}
    for need in rows.order_by("-severity", "id"):
        if need.learner_id:
            by_learner.setdefault(need.learner_id, []).append(need)
        elif need.target == "cohort":
            by_site.setdefault(need.site_name, []).append(need)
    return by_learner, by_site


def _readiness_rows(
    learner: Learner,
    *,
    today: date,
    credentials: list[Any],
    missing_steps: list[str],
    overdue: list[Any],
    needs: list[Need],
) -> list[dict[str, Any]]:
    reasons: list[dict[str, Any]] = []
    for credential in credentials:
        if credential.valid_until is None:
            reasons.append({"kind": "credential", "blocking": False, "name": credential.name, "detail": "valid (no expiry)"})
            continue
        days = (credential.valid_until - today).days
        base = {"kind": "credential", "name": credential.name, "validUntil": credential.valid_until.isoformat()}
        if days < 0:
            reasons.append({**base, "blocking": True, "state": "expired", "detail": f"expired {-days} days ago"})
        elif days <= EXPIRING_WITHIN_DAYS:
            reasons.append({**base, "blocking": False, "state": "expiring", "daysLeft": days, "detail": f"expiring in {days} days"})
        else:
            reasons.append({**base, "blocking": False, "state": "valid", "detail": f"valid until {credential.valid_until.isoformat()}"})
    for step in missing_steps:
        reasons.append({"kind": "onboarding", "blocking": True, "name": step, "detail": "onboarding step not completed"})
    for assignment in overdue:
        reasons.append(
            {
                "kind": "assignment",
                "blocking": True,
                "name": assignment.course.title,
                "assignmentId": str(assignment.pk),
                "dueDate": assignment.due_date.isoformat(),
                "detail": f"overdue since {assignment.due_date.isoformat()}",
            }
        )
    for need in needs:
        reasons.append(
            {
                "kind": "signal",
                "blocking": need.severity >= BLOCKING_SEVERITY,
                "name": need.topic,
                "needId": str(need.pk),
                "type": need.type,
                "severity": need.severity,
                "scope": "worker" if need.learner_id else "site",
                "detail": f"open {need.type} signal, severity {need.severity}",
            }
        )
    return reasons


def readiness_for_learners(*, tenant: Tenant, learners: list[Learner], today: date | None = None) -> list[dict[str, Any]]:
    """Return each learner's readiness with one reason row per cause, in a fixed number of queries."""
    today = today or timezone.localdate()
    ids = [l.pk for l in learners]
    credentials = credentials_by_learner(tenant=tenant, learner_ids=ids)
    missing = onboarding_missing_by_learner(tenant=tenant, learners=learners)
    overdue = overdue_assignments_by_learner(tenant=tenant, learner_ids=ids, today=today)
    needs_by_learner, needs_by_site = _open_needs_for(tenant=tenant, learners=learners)
    result = []
    for learner in learners:
        site = learner.site.name if learner.site is not None else None
        needs = needs_by_learner.get(learner.pk, []) + (needs_by_site.get(site, []) if site else [])
        reasons = _readiness_rows(
            learner,
            today=today,
            credentials=credentials.get(learner.pk, []),
            missing_steps=missing.get(learner.pk, []),
            overdue=overdue.get(learner.pk, []),
            needs=needs,
        )
        result.append(
            {
                "learnerId": str(learner.pk),
                "name": str(learner),
                "externalWorkerId": learner.external_worker_id or None,
                "site": site,
                "ready": not any(r["blocking"] for r in reasons),
                "reasons": reasons,
            }
        )
    return result


def readiness_learners(*, tenant: Tenant, site: str | None = None) -> QuerySet[Learner]:
    """Return the learners the readiness board covers (active ones, optionally of one site)."""
    queryset = learner_queryset(tenant=tenant).filter(status="active").select_related("site")
    return queryset.filter(site__name=site) if site else queryset


def readiness_site_summary(*, tenant: Tenant, site: str | None = None, chunk: int = 1000) -> list[dict[str, Any]]:
    """Return, per site, how many learners are ready and not ready."""
    summary: dict[str | None, dict[str, Any]] = {}
    queryset = readiness_learners(tenant=tenant, site=site)
    last = None
    while True:
        window = queryset.filter(pk__gt=last) if last is not None else queryset
        learners = list(window[:chunk])
        if not learners:
            break
        for row in readiness_for_learners(tenant=tenant, learners=learners):
            item = summary.setdefault(row["site"], {"site": row["site"], "learners": 0, "ready": 0, "notReady": 0})
            item["learners"] += 1
            item["ready" if row["ready"] else "notReady"] += 1
        last = learners[-1].pk
    return sorted(summary.values(), key=lambda s: (s["site"] is None, s["site"] or ""))


def readiness_board(*, tenant: Tenant, site: str | None, page_request: Any) -> dict[str, Any]:
    """Return one page of the readiness board and the per-site summary (the API's and the console's data)."""
    page = paginate(readiness_learners(tenant=tenant, site=site), page_request)
    rows = readiness_for_learners(tenant=tenant, learners=page.rows)
    return {**page.body(rows), "sites": readiness_site_summary(tenant=tenant, site=site)}
