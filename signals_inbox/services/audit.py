"""The audit trail of the inbox: who did what, when."""
from __future__ import annotations

from typing import Any

from signals_inbox.models import AuditEntry, Need
from tenants.models import Tenant


def audit_record(*, tenant: Tenant, actor: str, action: str, details: dict[str, Any], need: Need | None = None) -> AuditEntry:
    """Record one audited action (actor is e.g. api-key:<prefix>, user:<name>, system:<what>)."""
    return AuditEntry.objects.create(tenant=tenant, need=need, actor=actor[:200], action=action, details=details)
