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
            details={
                "autoAuthor": auto_author,
                "added": sorted(set(entries) - set(before)),
                "removed": sorted(set(before) - set(entries)),
                "changed": sorted(k for k in set(entries) & set(before) if before[k] != tuple(entries[k].values())),
            },
        )
        after_commit(forget_ingest_context, slug=tenant.slug)
    return settings_row


def inbox_settings_ensure(*, tenant: Tenant) -> InboxSettings:
    """Return the tenant's stored inbox settings, creating the defaults row on first use."""
    row, _ = InboxSettings.objects.get_or_create(tenant=tenant)
    return row
