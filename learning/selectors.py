"""Reads of learners, always scoped to a tenant."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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
    "created_at",
    "updated_at",
)


def learner_row_json(row: dict[str, Any], group_ids: list[str] | None = None) -> dict[str, Any]:
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
        "groups": group_ids or [],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def learner_json(learner: Learner) -> dict[str, Any]:
    """Return the representation of one learner instance."""
    row = {field: getattr(learner, field) for field in LEARNER_VALUE_FIELDS if "__" not in field}
    row["site__name"] = learner.site.name if learner.site_id else None
    group_ids = [str(pk) for pk in learner.groups.order_by("id").values_list("id", flat=True)]
    data = learner_row_json(row, group_ids)
    return _jsonable(data)


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


def learner_total(*, tenant: Tenant) -> int:
    """Return the tenant's learner count as the services keep it."""
    row = LearnerCount.objects.filter(tenant=tenant).values_list("count", flat=True).first()
    return int(row or 0)


def learner_group_ids(*, learner_ids: list[Any]) -> dict[Any, list[str]]:
    """Return each learner's group ids, in one query for a whole page."""
    result: dict[Any, list[str]] = {}
    through = Learner.groups.through
    for learner_id, group_id in (
        through.objects.filter(learner_id__in=learner_ids).order_by("group_id").values_list("learner_id", "group_id")
    ):
        result.setdefault(learner_id, []).append(str(group_id))
    return result
