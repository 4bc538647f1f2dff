"""Writes of learners; each records its domain event in the same transaction."""
from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F

from learning.models import Learner, LearnerCount, LearnerStatus
from learning.selectors import learner_json, learner_total_cache_key
from learning.validators import sa_id_number_problem
from skillhub.errors import ConflictError, ValidationFailed
from tenants.models import Group, Tenant
from tenants.services import site_get_or_create
from webhooks.services import record_event

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
# Hooks other apps register to react to learner writes (e.g. re-matching parked signals).
learner_saved_hooks: list[Any] = []


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


def _check_unique(*, tenant: Tenant, values: dict[str, Any], exclude_id: Any = None) -> None:
    for field, label in (("email", "email"), ("external_worker_id", "external worker id")):
        value = values.get(field)
        if not value:
            continue
        clash = Learner.objects.filter(tenant=tenant, **{field: value})
        if exclude_id is not None:
            clash = clash.exclude(pk=exclude_id)
        if clash.exists():
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
    text = str(exc).lower()
    field = "external_worker_id" if "worker" in text else "email"
    label = "external worker id" if field == "external_worker_id" else "email"
    raise ConflictError(f"A learner with this {label} already exists", field=field, reason="already exists") from exc


def _set_groups(learner: Learner, groups: list[Group]) -> None:
    learner.groups.set(groups)
    learner.group_ids = sorted(str(group.pk) for group in groups)
    Learner.objects.filter(pk=learner.pk).update(group_ids=learner.group_ids)


def _after_save(learner: Learner) -> None:
    for hook in learner_saved_hooks:
        transaction.on_commit(lambda hook=hook: hook(tenant_id=learner.tenant_id, learner_id=learner.pk))


def learner_create(*, tenant: Tenant, values: dict[str, Any]) -> Learner:
    """Create a learner from model-field values and record `learner.created`."""
    values = _normalise(values)
    _validate(values, creating=True)
    _check_unique(tenant=tenant, values=values)
    values, groups = _resolve_relations(tenant=tenant, values=values)
    try:
        with transaction.atomic():
            learner = Learner.objects.create(tenant=tenant, **values)
            if groups:
                _set_groups(learner, groups)
            _change_count(tenant=tenant, delta=1)
            _record(learner, "learner.created", learner_json(learner))
    except IntegrityError as exc:
        _raise_conflict(exc)
    _after_save(learner)
    return learner


def learner_update(*, learner: Learner, values: dict[str, Any]) -> Learner:
    """Apply changes to a learner and record `learner.updated` with the changed fields."""
    tenant = learner.tenant
    values = _normalise(values)
    _validate(values, creating=False)
    _check_unique(tenant=tenant, values=values, exclude_id=learner.pk)
    values, groups = _resolve_relations(tenant=tenant, values=values)
    before = learner_json(learner)
    try:
        with transaction.atomic():
            for field, value in values.items():
                setattr(learner, field, value)
            learner.save()
            if groups is not None:
                _set_groups(learner, groups)
            after = learner_json(learner)
            changed = [key for key in after if key not in ("updatedAt",) and after[key] != before[key]]
            if changed:
                previous = {key: before[key] for key in changed}
                _record(learner, "learner.updated", {**after, "changedFields": changed, "previous": previous})
    except IntegrityError as exc:
        _raise_conflict(exc)
    _after_save(learner)
    return learner


@transaction.atomic
def learner_delete(*, learner: Learner) -> None:
    """Delete a learner and record `learner.deleted` with its last state."""
    tenant = learner.tenant
    data = learner_json(learner)
    learner_id = str(learner.pk)
    learner.delete()
    _change_count(tenant=tenant, delta=-1)
    record_event(tenant=tenant, event_type="learner.deleted", data=data, subject_type="learner", subject_id=learner_id)


def _record(learner: Learner, event_type: str, data: dict[str, Any]) -> None:
    record_event(tenant=learner.tenant, event_type=event_type, data=data, subject_type="learner", subject_id=str(learner.pk))


def _change_count(*, tenant: Tenant, delta: int) -> None:
    updated = LearnerCount.objects.filter(tenant=tenant).update(count=F("count") + delta)
    if not updated:
        learner_count_recompute(tenant=tenant)
    transaction.on_commit(lambda: cache.delete(learner_total_cache_key(tenant.pk)))


def learner_count_recompute(*, tenant: Tenant) -> int:
    """Set the kept learner count from a real COUNT (after bulk loads or repairs)."""
    count = Learner.objects.filter(tenant=tenant).count()
    LearnerCount.objects.update_or_create(tenant=tenant, defaults={"count": count})
    transaction.on_commit(lambda: cache.delete(learner_total_cache_key(tenant.pk)))
    return count
