"""SCIM writes: every change to a learner goes through the learning app's learner services, so the
same `learner.*` events are recorded and parked needs are attached exactly as for the REST API."""
from __future__ import annotations

from typing import Any

import scim2_models as scim
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

from learning.models import Learner, LearnerStatus
from learning.services import learner_create, learner_delete, learner_update
from provisioning.models import ScimUser
from provisioning.scim_schema import POLICY, EnterpriseUser, GroupResource, SkillhubUser, UserResource
from provisioning.selectors import group_members, group_model, user_groups, user_model
from skillhub.db import prepared_cursor, uses_postgres_statements
from skillhub.errors import ConflictError, DomainError, NotFoundError
from skillhub.ids import uuid7, uuid_or_none
from tenants import audit
from tenants.models import Group, Tenant
from tenants.services import group_create, group_delete, group_rename

# Learner model field → SCIM attribute, to name the attribute in an error.
_ATTRIBUTE = {
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "email": "emails",
    "external_worker_id": "externalId",
    "sa_id_number": "saIdNumber",
    "site": SkillhubUser.__schema__ + ":site",
    "role": "title",
    "status": "active",
    "groups": "members",
}


def scim_error(exc: DomainError) -> scim.SCIMException:
    """The SCIM error a domain error stands for."""
    attribute = _ATTRIBUTE.get(exc.field or "", exc.field or "")
    detail = f"{attribute}: {exc.reason}" if attribute else exc.message
    if isinstance(exc, ConflictError):
        return scim.UniquenessException(detail=detail)
    if isinstance(exc, NotFoundError):
        return scim.NotFoundException(detail=exc.message)
    return scim.InvalidValueException(detail=detail)


def _primary_email(user: Any) -> str:
    emails = [e for e in (user.emails or []) if e.value]
    chosen = next((e for e in emails if e.primary), None) or next((e for e in emails if str(e.type or "") == "work"), None)
    chosen = chosen or (emails[0] if emails else None)
    if chosen is not None:
        return str(chosen.value)
    # Identity providers often send the email as userName alone.
    return user.user_name if user.user_name and "@" in user.user_name else ""


def _names(user: Any) -> tuple[str, str]:
    given = (user.name.given_name if user.name else None) or ""
    family = (user.name.family_name if user.name else None) or ""
    if not (given and family) and user.display_name:
        first, _, rest = str(user.display_name).strip().partition(" ")
        given, family = given or first, family or rest
    if not given or not family:
        missing = "name.givenName" if not given else "name.familyName"
        raise scim.InvalidValueException(detail=f"{missing} is required (or a displayName of two words)")
    return given, family


def learner_values(user: Any) -> dict[str, Any]:
    """The learner fields a SCIM User stands for (model field names)."""
    given, family = _names(user)
    site = user[SkillhubUser].site if user[SkillhubUser] is not None else None
    return {
        "first_name": given,
        "last_name": family,
        "email": _primary_email(user),
        "external_worker_id": user.external_id or "",
        "role": user.title or "",
        "site": site or None,
    }


def profile_values(user: Any) -> dict[str, str]:
    enterprise = user[EnterpriseUser]
    manager = enterprise.manager.value if enterprise is not None and enterprise.manager is not None else None
    return {
        "user_name": str(user.user_name or "").strip(),
        "employee_number": (enterprise.employee_number if enterprise else None) or "",
        "department": (enterprise.department if enterprise else None) or "",
        "manager_id": str(manager or "")[:64],
    }


def _status(active: bool | None, current: str | None) -> str | None:
    """`active` → status: true is active; false keeps a suspended learner suspended, else inactive."""
    if active is None:
        return None
    if active:
        return LearnerStatus.ACTIVE
    return current if current in (LearnerStatus.INACTIVE, LearnerStatus.SUSPENDED) else LearnerStatus.INACTIVE


def _user_name_key(user_name: str) -> str:
    """The key a userName is unique by in a tenant (case-insensitive, RFC 7643 §4.1.1)."""
    if not user_name:
        raise scim.InvalidValueException(detail="userName is required")
    if len(user_name) > 254:
        raise scim.InvalidValueException(detail="userName must be at most 254 characters")
    return user_name.lower()


def _check_user_name(*, tenant: Tenant, user_name: str, learner: Learner | None) -> str:
    key = _user_name_key(user_name)
    clash = ScimUser.objects.filter(tenant=tenant, user_name_key=key)
    if learner is not None:
        clash = clash.exclude(learner=learner)
    if clash.exists():
        raise scim.UniquenessException(detail="userName: a user with this userName already exists")
    return key


def _save_profile(*, tenant: Tenant, learner: Learner, values: dict[str, str], key: str) -> ScimUser:
    try:
        with transaction.atomic():
            profile, _ = ScimUser.objects.update_or_create(learner=learner, defaults={"tenant": tenant, "user_name_key": key, **values})
    except IntegrityError as exc:
        raise scim.UniquenessException(detail="userName: a user with this userName already exists") from exc
    return profile


_IDENTITY_FIELDS = ScimUser._meta.concrete_fields


def _identity_insert(identity: ScimUser) -> ScimUser:
    """INSERT a new SCIM identity and audit it; a taken userName is its unique constraint's IntegrityError.

    A hand-written statement (prepared on PostgreSQL): the ORM's compiling of it cost more than the write.
    """
    db = connections[DEFAULT_DB_ALIAS]
    identity.updated_at = timezone.now()
    quote = db.ops.quote_name
    sql = (
        f"INSERT INTO {quote(ScimUser._meta.db_table)} ({', '.join(quote(str(f.column)) for f in _IDENTITY_FIELDS)}) "
        f"VALUES ({', '.join(['%s'] * len(_IDENTITY_FIELDS))})"
    )
    params = [f.get_db_prep_save(getattr(identity, f.attname), db) for f in _IDENTITY_FIELDS]
    with prepared_cursor() if uses_postgres_statements() else db.cursor() as cursor:
        cursor.execute(sql, params)
    identity._state.adding = False
    identity._state.db = DEFAULT_DB_ALIAS
    audit.record_created(identity)
    return identity


def scim_user_create(*, tenant: Tenant, user: Any) -> tuple[Learner, ScimUser]:
    """Create a learner (recording `learner.created`) and its SCIM identity from a User resource."""
    values = learner_values(user)
    profile = profile_values(user)
    key = _user_name_key(profile["user_name"])
    status = _status(user.active, None)
    if status is not None:
        values["status"] = status
    values["id"] = uuid7()
    try:
        # One transaction, its audit rows in one statement. A userName taken already is found by
        # its unique constraint, not by a query first: identity providers create users they looked
        # up and did not find, so the check would cost every create a round trip to refuse almost none.
        # The identity is written first (its learner is checked at commit): a taken userName is
        # refused before any learner work, and the tenant's learner-count row, which the learner's
        # statement locks until commit, is not held while the identity is written.
        with transaction.atomic(), audit.batched():
            saved = _identity_insert(ScimUser(learner_id=values["id"], tenant=tenant, user_name_key=key, **profile))
            learner = learner_create(tenant=tenant, values=values)
        saved.learner = learner
    except DomainError as exc:
        raise scim_error(exc) from exc
    except IntegrityError as exc:  # the userName is taken (the learner and its event are rolled back)
        raise scim.UniquenessException(detail="userName: a user with this userName already exists") from exc
    return learner, saved


def _changed(learner: Learner, values: dict[str, Any]) -> dict[str, Any]:
    changed = {}
    for field, value in values.items():
        current = (learner.site.name if learner.site is not None else None) if field == "site" else getattr(learner, field)
        if (current or None) != (value or None):
            changed[field] = value
    return changed


def scim_user_apply(*, tenant: Tenant, learner: Learner, profile: ScimUser | None, user: Any) -> tuple[Learner, ScimUser]:
    """Make a learner what a User resource says (PUT, and PATCH once applied); unchanged fields are not written."""
    values = learner_values(user)
    status = _status(user.active, learner.status)
    if status is not None:
        values["status"] = status
    wanted = profile_values(user)
    key = _check_user_name(tenant=tenant, user_name=wanted["user_name"], learner=learner)
    changed = _changed(learner, values)
    try:
        with transaction.atomic(), audit.batched():
            if changed:
                learner = learner_update(learner=learner, values=changed)
            if profile is None or any(getattr(profile, f) != v for f, v in wanted.items()):
                profile = _save_profile(tenant=tenant, learner=learner, values=wanted, key=key)
    except DomainError as exc:
        raise scim_error(exc) from exc
    return learner, profile


def scim_user_patch(*, tenant: Tenant, learner: Learner, profile: ScimUser | None, patch: Any) -> tuple[Learner, ScimUser]:
    """Apply a PatchOp to a learner's User resource, then write what changed."""
    user = user_model(learner, profile, user_groups(tenant=tenant, learner=learner))
    patch.patch(user, scim_policy=POLICY)
    return scim_user_apply(tenant=tenant, learner=learner, profile=profile, user=user)


def scim_user_delete(*, learner: Learner) -> None:
    """Delete the learner as the REST API's DELETE does (recording `learner.deleted`)."""
    learner_delete(learner=learner)


# --- groups -------------------------------------------------------------------------------


def _member_learners(*, tenant: Tenant, group: Any) -> list[Learner]:
    wanted: list[str] = []
    for member in group.members or []:
        if member.type and str(member.type) != "User":
            raise scim.InvalidValueException(detail="members: only Users can be members (no nested groups)")
        pk = uuid_or_none(member.value)
        if pk is None:
            raise scim.InvalidValueException(detail=f"members: {member.value!r} is not a User id")
        wanted.append(str(pk))
    found = {str(learner.pk): learner for learner in Learner.objects.select_related("site").filter(tenant=tenant, pk__in=wanted)}
    missing = [value for value in wanted if value not in found]
    if missing:
        raise scim.InvalidValueException(detail=f"members: no User with id {missing[0]}")
    return [found[value] for value in dict.fromkeys(wanted)]


def _set_membership(*, group: Group, learners: list[Learner], member: bool) -> None:
    """Add or remove the group on each learner through learner_update (each records `learner.updated`)."""
    for learner in learners:
        current = list(learner.group_ids or [])
        wanted = sorted(set(current) | {str(group.pk)}) if member else [g for g in current if g != str(group.pk)]
        if sorted(current) != sorted(wanted):
            learner_update(learner=learner, values={"groups": wanted})


def _apply_group(*, tenant: Tenant, group: Group, resource: Any) -> Group:
    name = (resource.display_name or "").strip()
    if not name:
        raise scim.InvalidValueException(detail="displayName is required")
    wanted = _member_learners(tenant=tenant, group=resource)
    current = group_members(group=group)
    wanted_ids = {learner.pk for learner in wanted}
    current_ids = {learner.pk for learner in current}
    try:
        with transaction.atomic():
            if name != group.name:
                group = group_rename(group=group, name=name)
            _set_membership(group=group, learners=[l for l in wanted if l.pk not in current_ids], member=True)
            _set_membership(group=group, learners=[l for l in current if l.pk not in wanted_ids], member=False)
    except DomainError as exc:
        raise scim_error(exc) from exc
    return group


def scim_group_create(*, tenant: Tenant, resource: Any) -> Group:
    """Create a learner group with its members (each member's `learner.updated` records the membership)."""
    name = (resource.display_name or "").strip()
    if not name:
        raise scim.InvalidValueException(detail="displayName is required")
    members = _member_learners(tenant=tenant, group=resource)
    try:
        with transaction.atomic():
            group = group_create(tenant=tenant, name=name)
            _set_membership(group=group, learners=members, member=True)
    except DomainError as exc:
        raise scim_error(exc) from exc
    return group


def scim_group_replace(*, tenant: Tenant, group: Group, resource: Any) -> Group:
    return _apply_group(tenant=tenant, group=group, resource=resource)


def scim_group_patch(*, tenant: Tenant, group: Group, patch: Any) -> Group:
    resource = group_model(group, group_members(group=group))
    patch.patch(resource, scim_policy=POLICY)
    return _apply_group(tenant=tenant, group=group, resource=resource)


@transaction.atomic
def scim_group_delete(*, group: Group) -> None:
    """Take the group off its members (recording `learner.updated`), then delete it."""
    _set_membership(group=group, learners=group_members(group=group), member=False)
    group_delete(group=group)


__all__ = ["GroupResource", "UserResource"]
