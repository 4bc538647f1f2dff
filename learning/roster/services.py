"""Writes for groups and their members, and for sites; the console's group and site pages save the same rows."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from learning.models import Learner
from learning.services import learner_groups_change
from skillhub.errors import ConflictError, ValidationFailed
from skillhub.ids import uuid_or_none
from tenants.models import Group, Site, Tenant
from tenants.services import group_create as _group_row_create

MAX_MEMBERS_PER_CALL = 1000


def _learners(tenant: Tenant, ids: Iterable[Any], field: str) -> list[Learner]:
    wanted = [str(i) for i in ids]
    if len(set(wanted)) > MAX_MEMBERS_PER_CALL:
        raise ValidationFailed({field: f"at most {MAX_MEMBERS_PER_CALL} learners per call"})
    pks = [uuid_or_none(i) for i in wanted]
    learners = list(Learner.objects.filter(tenant=tenant, pk__in=[pk for pk in pks if pk]).order_by("id"))
    found = {str(learner.pk) for learner in learners}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ValidationFailed({field: f"unknown learner id {missing[0]}"})
    return learners


@transaction.atomic
def group_create(*, tenant: Tenant, name: str, learner_ids: Iterable[Any] = ()) -> Group:
    """Create a group with its first members (each recorded as `learner.updated`)."""
    members = _learners(tenant, learner_ids, "learnerIds")
    group = _group_row_create(tenant=tenant, name=name)
    for learner in members:
        learner_groups_change(learner=learner, add=[group])
    return group


@transaction.atomic
def group_update(
    *,
    group: Group,
    name: str | None = None,
    learner_ids: Iterable[Any] | None = None,
    add_ids: Iterable[Any] = (),
    remove_ids: Iterable[Any] = (),
) -> Group:
    """Rename a group, set its members (`learner_ids`), or add and remove some; each changed learner records `learner.updated`."""
    tenant = group.tenant
    if name is not None and name.strip() != group.name:
        group.name = name.strip()
        try:
            with transaction.atomic():
                group.save(update_fields=["name"])
        except IntegrityError as exc:
            raise ConflictError(f"A group named {name!r} already exists", field="name") from exc
    adding = _learners(tenant, add_ids, "addLearnerIds")
    removing = _learners(tenant, remove_ids, "removeLearnerIds")
    if learner_ids is not None:
        wanted = _learners(tenant, learner_ids, "learnerIds")
        wanted_ids = {learner.pk for learner in wanted}
        adding += wanted
        removing += list(group.learners.exclude(pk__in=wanted_ids).order_by("id"))
    for learner in adding:
        learner_groups_change(learner=learner, add=[group])
    for learner in removing:
        learner_groups_change(learner=learner, remove=[group])
    return group


@transaction.atomic
def group_delete(*, group: Group) -> None:
    """Delete a group; its members leave it first (each recorded as `learner.updated`), and stay."""
    for learner in group.learners.order_by("id"):
        learner_groups_change(learner=learner, remove=[group])
    group.delete()


def site_create(*, tenant: Tenant, name: str) -> Site:
    """Create a site (a learner's `site` names one; it is also created on first use there)."""
    name = name.strip()
    if not name:
        raise ValidationFailed({"name": "must not be blank"})
    try:
        with transaction.atomic():
            return Site.objects.create(tenant=tenant, name=name)
    except IntegrityError as exc:
        raise ConflictError(f"A site named {name!r} already exists", field="name") from exc


@transaction.atomic
def site_rename(*, site: Site, name: str) -> Site:
    """Rename a site; its learners show the new name, and their `updatedAt` moves so incremental syncs see it."""
    name = name.strip()
    if not name:
        raise ValidationFailed({"name": "must not be blank"})
    if name == site.name:
        return site
    site.name = name
    try:
        with transaction.atomic():
            site.save(update_fields=["name"])
    except IntegrityError as exc:
        raise ConflictError(f"A site named {name!r} already exists", field="name") from exc
    Learner.objects.filter(tenant=site.tenant, site=site).update(updated_at=timezone.now())
    return site
