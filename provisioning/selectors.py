"""Reads for SCIM: learners as User resources and learner groups as Group resources, tenant by tenant."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable

import orjson
import scim2_models as scim
from pydantic import EmailStr, TypeAdapter, ValidationError
from django.db.models import QuerySet, Value
from django.db.models.functions import Concat

from learning.models import Learner, LearnerStatus
from learning.selectors import learner_queryset, learner_total
from provisioning.filters import group_filter_q, user_filter_q
from provisioning.models import ScimUser
from provisioning.scim_schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    SKILLHUB_USER_SCHEMA,
    USER_SCHEMA,
    EnterpriseUser,
    GroupResource,
    Manager,
    SkillhubUser,
    UserResource,
)
from skillhub.formats import iso
from skillhub.ids import uuid_or_none
from tenants.models import Group, Tenant


def etag(body: dict[str, Any]) -> str:
    """A weak ETag of a resource's representation (its meta left out): any change of what a client sees changes it."""
    digest = hashlib.sha256(orjson.dumps({k: v for k, v in body.items() if k != "meta"}, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f'W/"{digest[:20]}"'


def user_name_of(learner: Learner, profile: ScimUser | None) -> str:
    """A learner's userName: the SCIM identity's, else its email, else its external worker id, else its id."""
    if profile is not None:
        return profile.user_name
    return learner.email or learner.external_worker_id or str(learner.pk)


def user_model(learner: Learner, profile: ScimUser | None, groups: Iterable[Group] = ()) -> Any:
    """The learner as a scim2-models User (what PATCH is applied to)."""
    user = UserResource(
        id=str(learner.pk),
        user_name=user_name_of(learner, profile),
        external_id=learner.external_worker_id or None,
        name=scim.Name(given_name=learner.first_name, family_name=learner.last_name, formatted=str(learner) or None),
        display_name=str(learner) or None,
        title=learner.role or None,
        active=learner.status == LearnerStatus.ACTIVE,
        emails=[scim.Email(value=learner.email, type=scim.Email.Type.work, primary=True)] if learner.email else None,
        groups=[scim.GroupMembership(value=str(group.pk), display=group.name, ref=None, type=None) for group in groups] or None,
    )
    if profile is not None and (profile.employee_number or profile.department or profile.manager_id):
        user[EnterpriseUser] = EnterpriseUser(
            employee_number=profile.employee_number or None,
            department=profile.department or None,
            manager=Manager(value=profile.manager_id, ref=None) if profile.manager_id else None,
        )
    if learner.site_id is not None:
        user[SkillhubUser] = SkillhubUser(site=learner.site.name if learner.site else None)
    return user


_email = TypeAdapter(EmailStr)


def _extensions(learner: Learner, profile: ScimUser | None) -> dict[str, dict[str, Any]]:
    """The enterprise and skillhub extensions of a learner's User, as `user_model` dumps them."""
    found: dict[str, dict[str, Any]] = {}
    if profile is not None and (profile.employee_number or profile.department or profile.manager_id):
        enterprise: dict[str, Any] = {}
        if profile.employee_number:
            enterprise["employeeNumber"] = profile.employee_number
        if profile.department:
            enterprise["department"] = profile.department
        if profile.manager_id:
            enterprise["manager"] = {"value": profile.manager_id}
        found[ENTERPRISE_USER_SCHEMA] = enterprise
    if learner.site_id is not None:
        site = learner.site.name if learner.site else None
        found[SKILLHUB_USER_SCHEMA] = {"site": site} if site is not None else {}
    return found


def user_json(learner: Learner, profile: ScimUser | None, groups: Iterable[Group] = ()) -> dict[str, Any]:
    """The learner's User resource without meta, exactly as `user_model(...)` dumps it for a response, built directly.

    Every representation and ETag is this: building and dumping the scim2-models User (pydantic
    validation of every attribute) was most of a SCIM create's answer. An email the model would
    refuse takes the model's way, so it fails as it always did.
    """
    try:
        email = _email.validate_python(learner.email) if learner.email else None
    except ValidationError:
        return user_model(learner, profile, groups).model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE, scim_policy=None)
    display = str(learner) or None
    extensions = _extensions(learner, profile)
    body: dict[str, Any] = {"schemas": [USER_SCHEMA, *extensions], "id": str(learner.pk)}
    if learner.external_worker_id:
        body["externalId"] = learner.external_worker_id
    body["userName"] = user_name_of(learner, profile)
    body["name"] = {"formatted": display, "familyName": learner.last_name, "givenName": learner.first_name}
    if display is None:
        del body["name"]["formatted"]
    else:
        body["displayName"] = display
    if learner.role:
        body["title"] = learner.role
    body["active"] = learner.status == LearnerStatus.ACTIVE
    if email is not None:
        body["emails"] = [{"value": email, "type": "work", "primary": True}]
    members = [{"value": str(group.pk), "display": group.name} for group in groups]
    if members:
        body["groups"] = members
    body.update(extensions)
    return body


def user_body(learner: Learner, profile: ScimUser | None, groups: Iterable[Group], *, base_url: str, attributes: Any = None) -> dict[str, Any]:
    """The User resource of a learner, as JSON, with meta (version = ETag)."""
    groups = list(groups)
    body = user_json(learner, profile, groups)
    version = etag(body)
    if attributes is not None:
        model = user_model(learner, profile, groups)
        body = model.model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE, response_parameters=attributes)
    modified = max(learner.updated_at, profile.updated_at) if profile is not None else learner.updated_at
    body["meta"] = {
        "resourceType": "User",
        "created": iso(learner.created_at),
        "lastModified": iso(modified),
        "location": f"{base_url}/Users/{learner.pk}",
        "version": version,
    }
    for schema in (ENTERPRISE_USER_SCHEMA, SKILLHUB_USER_SCHEMA):
        if schema in body and schema not in body["schemas"]:
            body["schemas"].append(schema)
    body["schemas"] = [USER_SCHEMA] + [s for s in body["schemas"] if s != USER_SCHEMA]
    return body


def _groups_by_id(tenant: Tenant, learners: Iterable[Learner]) -> dict[str, Group]:
    ids = {gid for learner in learners for gid in (learner.group_ids or [])}
    return {str(group.pk): group for group in Group.objects.filter(tenant=tenant, pk__in=ids)} if ids else {}


def user_get(*, tenant: Tenant, user_id: str) -> tuple[Learner, ScimUser | None] | None:
    """The tenant's learner with this id and its SCIM identity, or None (also for another tenant's ids)."""
    pk = uuid_or_none(user_id)
    if pk is None:
        return None
    learner = Learner.objects.select_related("site", "scim").filter(tenant=tenant, pk=pk).first()
    if learner is None:
        return None
    return learner, getattr(learner, "scim", None) if hasattr(learner, "scim") else None


def user_groups(*, tenant: Tenant, learner: Learner) -> list[Group]:
    groups = _groups_by_id(tenant, [learner])
    return [groups[gid] for gid in learner.group_ids or [] if gid in groups]


def user_render(*, tenant: Tenant, learner: Learner, profile: ScimUser | None, base_url: str, attributes: Any = None) -> dict[str, Any]:
    return user_body(learner, profile, user_groups(tenant=tenant, learner=learner), base_url=base_url, attributes=attributes)


@dataclass
class Page:
    total: int
    start_index: int
    resources: list[dict[str, Any]]

    def body(self) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": self.total,
            "startIndex": self.start_index,
            "itemsPerPage": len(self.resources),
            "Resources": self.resources,
        }


def users_page(*, tenant: Tenant, filter_text: str | None, start_index: int, count: int, base_url: str, attributes: Any = None) -> Page:
    """One page of Users (1-based startIndex), filtered; ordered by id."""
    queryset: QuerySet[Learner] = learner_queryset(tenant=tenant).select_related("site", "scim")
    if filter_text:
        queryset = queryset.annotate(scim_display_name=Concat("first_name", Value(" "), "last_name")).filter(user_filter_q(filter_text)).distinct()
        total = queryset.count()
    else:
        total = learner_total(tenant=tenant)
    learners = list(queryset[start_index - 1 : start_index - 1 + count]) if count else []
    groups = _groups_by_id(tenant, learners)
    resources = [
        user_body(
            learner,
            getattr(learner, "scim", None) if hasattr(learner, "scim") else None,
            [groups[g] for g in learner.group_ids or [] if g in groups],
            base_url=base_url,
            attributes=attributes,
        )
        for learner in learners
    ]
    return Page(total=total, start_index=start_index, resources=resources)


# --- groups -------------------------------------------------------------------------------


def group_members(*, group: Group) -> list[Learner]:
    return list(group.learners.order_by("id"))


def group_model(group: Group, members: Iterable[Learner]) -> Any:
    return GroupResource(
        id=str(group.pk),
        display_name=group.name,
        members=[scim.GroupMember(value=str(learner.pk), display=str(learner) or None, type="User", ref=None) for learner in members] or None,
    )


def group_body(group: Group, members: Iterable[Learner], *, base_url: str, attributes: Any = None) -> dict[str, Any]:
    """The Group resource of a learner group, as JSON, with meta (version = ETag)."""
    model = group_model(group, members)
    body = model.model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE)
    for member in body.get("members", []):
        member["$ref"] = f"{base_url}/Users/{member['value']}"
    version = etag(body)
    if attributes is not None:
        body = model.model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE, response_parameters=attributes)
        for member in body.get("members", []):
            member["$ref"] = f"{base_url}/Users/{member['value']}"
    body["schemas"] = [GROUP_SCHEMA]
    body["meta"] = {
        "resourceType": "Group",
        "created": iso(group.created_at),
        "location": f"{base_url}/Groups/{group.pk}",
        "version": version,
    }
    return body


def group_get(*, tenant: Tenant, group_id: str) -> Group | None:
    pk = uuid_or_none(group_id)
    return Group.objects.filter(tenant=tenant, pk=pk).first() if pk else None


def groups_page(*, tenant: Tenant, filter_text: str | None, start_index: int, count: int, base_url: str, attributes: Any = None, with_members: bool = True) -> Page:
    """One page of Groups, filtered; members left out when the client excluded them."""
    queryset = Group.objects.filter(tenant=tenant).order_by("created_at", "id")
    if filter_text:
        queryset = queryset.filter(group_filter_q(filter_text)).distinct()
    total = queryset.count()
    groups = list(queryset[start_index - 1 : start_index - 1 + count]) if count else []
    resources = []
    for group in groups:
        body = group_body(group, group_members(group=group) if with_members else [], base_url=base_url, attributes=attributes)
        if not with_members:
            del body["meta"]["version"]  # a version of the group without its members would never match
        resources.append(body)
    return Page(total=total, start_index=start_index, resources=resources)
