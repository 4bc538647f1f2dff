"""The per-tenant signal map and auto-author settings."""
from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from signals_inbox.models import (
    InboxSettings,
    SignalMapEntry,
)
from signals_inbox.selectors import forget_ingest_context
from signals_inbox.services.audit import audit_record
from skillhub.errors import ValidationFailed
from skillhub.hooks import after_commit
from tenants.models import Tenant

logger = logging.getLogger("skillhub.signals")


# --- the signal map -----------------------------------------------------------------------------


def map_entry_values(kind: Any, value: Any) -> tuple[str, dict[str, Any]]:
    """Validate one signal-map entry; return (normalised type, field values)."""
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


def _check_map_settings(mapping: Any, auto_author: Any, threshold: Any, quota: Any) -> None:
    """Refuse a signal map or auto-author setting of the wrong type or size (ValidationFailed)."""
    if not isinstance(mapping, dict):
        raise ValidationFailed({"map": "must be an object of signal type → defaults"})
    if len(mapping) > 500:
        raise ValidationFailed({"map": "at most 500 signal types"})
    if not isinstance(auto_author, bool):
        raise ValidationFailed({"auto_author": "must be true or false"})
    for name, value in (("auto_author_threshold", threshold), ("authoring_quota_monthly", quota)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000):
            raise ValidationFailed({name: "must be an integer from 0 to 10000"})
    if threshold is not None and threshold < 1:
        raise ValidationFailed({"auto_author_threshold": "must be at least 1"})


def _map_changes(before: dict[str, tuple], entries: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """The signal types added, removed and changed, for the audit entry."""
    return {
        "added": sorted(set(entries) - set(before)),
        "removed": sorted(set(before) - set(entries)),
        "changed": sorted(k for k in set(entries) & set(before) if before[k] != tuple(entries[k].values())),
    }


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
    _check_map_settings(mapping, auto_author, auto_author_threshold, authoring_quota_monthly)
    entries = dict(map_entry_values(kind, value) for kind, value in mapping.items())
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
        audit_record(
            tenant=tenant,
            actor=actor,
            action="signal_map_changed",
            details={"autoAuthor": auto_author, **_map_changes(before, entries)},
        )
        after_commit(forget_ingest_context, slug=tenant.slug)
    return settings_row


def inbox_settings_ensure(*, tenant: Tenant) -> InboxSettings:
    """Return the tenant's stored inbox settings, creating the defaults row on first use."""
    row, _ = InboxSettings.objects.get_or_create(tenant=tenant)
    return row


# --- the dry run ------------------------------------------------------------------------------


def signal_map_preview(*, tenant: Tenant, sample: Any, mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    """Say what a sample signal would become (topic, worker or cohort, course or author, dedupe key); store nothing.

    `mapping` tries a signal map before saving it; without it the tenant's saved map applies.
    """
    import orjson

    from signals_inbox.parsing import InvalidSignal, parse_signal

    if not isinstance(sample, dict):
        raise ValidationFailed({"signal": "Expected a JSON object: a signal, or {signal, map}"})
    try:
        parsed = parse_signal(orjson.dumps(sample), _preview_map(tenant, mapping))
    except (InvalidSignal, TypeError) as exc:
        detail = exc.detail if isinstance(exc, InvalidSignal) else "the sample is not JSON-serialisable"
        return {"outcome": "rejected", "detail": detail}
    return _preview_of(tenant, parsed)


def _preview_map(tenant: Tenant, mapping: dict[str, Any] | None) -> dict[str, Any]:
    """The signal map a preview applies: the one given (checked as a save would), else the tenant's saved map."""
    from signals_inbox.parsing import MapEntry
    from signals_inbox.selectors import ingest_context

    if mapping is None:
        context = ingest_context(slug=tenant.slug)
        return dict(context.signal_map) if context else {}
    if not isinstance(mapping, dict):
        raise ValidationFailed({"map": "Must be an object"})
    signal_map = {}
    for kind, value in mapping.items():
        clean_kind, clean = map_entry_values(kind, value)
        signal_map[clean_kind] = MapEntry(**clean)
    return signal_map


def _preview_of(tenant: Tenant, parsed: Any) -> dict[str, Any]:
    """What an accepted sample would become: its worker or cohort, the course or authoring, a duplicate or not."""
    from django.utils import timezone

    from learning.selectors import course_match_topic, learner_find
    from signals_inbox.models import ACTIVE_NEED_STATUSES, Need

    learner = learner_find(tenant=tenant, **parsed.worker_lookup()) if parsed.worker_key else None
    target = "cohort" if not parsed.worker_key else ("worker" if learner else "unmatched")
    course, match = course_match_topic(tenant=tenant, topic=parsed.topic)
    open_need = (
        Need.objects.filter(tenant=tenant, dedupe_key=parsed.dedupe_key, status__in=ACTIVE_NEED_STATUSES)
        .values_list("pk", flat=True)
        .first()
    )
    return {
        "outcome": "accepted",
        "type": parsed.type,
        "topic": parsed.topic,
        "category": parsed.category or None,
        "severity": parsed.severity,
        "dedupeKey": parsed.dedupe_key,
        "target": target,
        "learnerId": str(learner.pk) if learner else None,
        "workerRef": parsed.worker_ref or None,
        "site": parsed.site or (learner.site.name if learner and learner.site else None),
        "action": "offer" if course else "author",
        "recommendation": {"courseId": str(course.pk), "title": course.title, "match": match} if course else None,
        "deduped": open_need is not None,
        "existingNeedId": str(open_need) if open_need else None,
        "checkedAt": timezone.now(),
    }
