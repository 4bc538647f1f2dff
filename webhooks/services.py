"""Writes of the outbound side; `record_event` is what every other app calls."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from tenants.models import Tenant
from webhooks.models import Event


def record_event(
    *,
    tenant: Tenant,
    event_type: str,
    data: dict[str, Any],
    subject_type: str = "",
    subject_id: str = "",
) -> Event:
    """Record a domain event in the caller's transaction; it is delivered only if that commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must be called inside the transaction that makes the change")
    return Event.objects.create(
        tenant=tenant,
        type=event_type,
        data=data,
        subject_type=subject_type,
        subject_id=str(subject_id),
    )
