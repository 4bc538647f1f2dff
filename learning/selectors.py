"""Reads of learners, always scoped to a tenant."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from learning.models import Learner, LearnerCount
from tenants.models import Tenant

LEARNER_VALUE_FIELDS = (
    "id",
    "tenant_id",
    "first_name",
    "last_name",
    "email",
    "external_worker_id",
    "sa_id_number",
    "site__name",
    "role",
    "status",
    "group_ids",
    "created_at",
    "updated_at",
)


def learner_row_json(row: dict[str, Any]) -> dict[str, Any]:
    """Return the API (and webhook) representation of a learner `.values()` row."""
    return {
        "id": str(row["id"]),
        "tenantId": str(row["tenant_id"]),
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "email": row["email"] or None,
        "externalWorkerId": row["external_worker_id"] or None,
        "saIdNumber": row["sa_id_number"] or None,
        "site": row["site__name"],
        "role": row["role"] or None,
        "status": row["status"],
        "groups": row["group_ids"] or [],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def learner_json(learner: Learner) -> dict[str, Any]:
    """Return the representation of one learner instance."""
    row = {field: getattr(learner, field) for field in LEARNER_VALUE_FIELDS if "__" not in field}
    row["site__name"] = learner.site.name if learner.site_id else None
    return _jsonable(learner_row_json(row))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Make datetimes ISO strings so the dict can go into a JSON column unchanged."""
    return {k: (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v) for k, v in data.items()}


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
    if external_worker_id:
        found = Learner.objects.filter(tenant=tenant, external_worker_id=external_worker_id.strip()).first()
        if found:
            return found
    if email:
        found = Learner.objects.filter(tenant=tenant, email=email.strip().lower()).first()
        if found:
            return found
    if learner_id:
        return learner_get(tenant=tenant, learner_id=learner_id)
    return None


LEARNER_TOTAL_CACHE_SECONDS = 30


def learner_total_cache_key(tenant_id: Any) -> str:
    return f"learner-total:{tenant_id}"


def learner_total(*, tenant: Tenant) -> int:
    """Return the tenant's learner count as the services keep it (cached; writes drop the cache)."""
    key = learner_total_cache_key(tenant.pk)
    total = cache.get(key)
    if total is None:
        total = int(LearnerCount.objects.filter(tenant=tenant).values_list("count", flat=True).first() or 0)
        cache.set(key, total, LEARNER_TOTAL_CACHE_SECONDS)
    return total
