"""Helpers the training services share: recording an event about a subject, text checks."""
from __future__ import annotations

from typing import Any, Mapping

from skillhub.errors import ValidationFailed
from tenants.models import Tenant
from webhooks.outbox import record_event


def record(*, tenant: Tenant, event_type: str, data: Mapping[str, Any], subject_type: str) -> None:
    """Record `event_type` about the subject whose id is `data["id"]`, in the caller's transaction."""
    record_event(tenant=tenant, event_type=event_type, data=data, subject_type=subject_type, subject_id=str(data["id"]))


def clean_text(values: dict[str, Any], limits: dict[str, int], *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Strip the text fields present in `values`, check lengths and required ones; raise ValidationFailed."""
    clean = dict(values)
    errors: dict[str, str] = {}
    for field, limit in limits.items():
        if field not in clean:
            continue
        value = clean[field]
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[field] = "must be a string"
            continue
        value = value.strip()
        if limit and len(value) > limit:
            errors[field] = f"must be at most {limit} characters"
        clean[field] = value
    for field in required:
        if field in clean and not clean[field]:
            errors.setdefault(field, "This field is required")
    if errors:
        raise ValidationFailed(errors)
    return clean


def same_tenant(tenant: Tenant, *objects: Any) -> bool:
    """Return True when every given object (None skipped) belongs to `tenant`."""
    return all(obj is None or obj.tenant_id == tenant.pk for obj in objects)
