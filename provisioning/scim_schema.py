"""The SCIM resources skillhub serves, described with scim2-models: User (with the enterprise and
skillhub extensions), Group, and what the discovery endpoints publish."""
from __future__ import annotations

from typing import Annotated, Any

import scim2_models as scim
from pydantic import Field

SKILLHUB_USER_SCHEMA = "urn:skillhub:params:scim:schemas:extension:skillhub:2.0:User"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MEDIA_TYPE = "application/scim+json"


class SkillhubUser(scim.Extension):
    """Skillhub's own User attributes."""

    __schema__ = scim.URN(SKILLHUB_USER_SCHEMA)

    site: str | None = None
    """The name of the learner's site (workplace); a new name creates the site."""


class Manager(scim.ComplexAttribute):
    """The manager, by id; identity providers send the id alone, so `$ref` is not required here."""

    value: Annotated[str | None, scim.CaseExact.true] = None
    """The id of the manager's User resource."""

    ref: Annotated[scim.Reference[Any] | None, scim.Mutability.read_only] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the manager's User resource."""

    display_name: Annotated[str | None, scim.Mutability.read_only] = None
    """The manager's displayName."""


class EnterpriseUser(scim.EnterpriseUser):
    """The RFC 7643 §4.3 enterprise extension; stored: employeeNumber, department, manager."""

    manager: Manager | None = None  # type: ignore[assignment]


UserResource = scim.User[EnterpriseUser | SkillhubUser]
GroupResource = scim.Group

# What identity providers send beyond the letter of RFC 7644: Entra's capitalised ops, removes
# selecting by value, filters on entries that do not exist yet; attributes we do not keep are dropped.
POLICY = scim.ScimPolicy(
    unknown=scim.ScimPolicy.Unknown.ignore,
    remove_value_as_filter=scim.ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=scim.ScimPolicy.UnmatchedPathFilter.create,
)

MAX_RESULTS = 1000
DEFAULT_COUNT = 100


def service_provider_config(*, base_url: str) -> dict[str, Any]:
    """What /ServiceProviderConfig answers."""
    config = scim.ServiceProviderConfig(
        documentation_uri=None,
        patch=scim.Patch(supported=True),
        bulk=scim.Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=scim.Filter(supported=True, max_results=MAX_RESULTS),
        change_password=scim.ChangePassword(supported=False),
        sort=scim.Sort(supported=False),
        etag=scim.ETag(supported=True),
        authentication_schemes=[
            scim.AuthenticationScheme(
                type=scim.AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer API key",
                description="An shk_… API key of the tenant with the scim scope, as 'Authorization: Bearer <key>'",
                primary=True,
            )
        ],
    )
    body = config.model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE)
    body["meta"] = {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"}
    return body


def resource_types(*, base_url: str) -> list[dict[str, Any]]:
    """What /ResourceTypes lists: User (with its two extensions) and Group."""
    types = []
    for model in (UserResource, GroupResource):
        resource_type = scim.ResourceType.from_resource(model)
        body = resource_type.model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE)
        body["meta"] = {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{body['id']}"}
        types.append(body)
    return types


_SCHEMA_NAMES = {
    USER_SCHEMA: ("User", "User Account: a learner"),
    GROUP_SCHEMA: ("Group", "Group: a learner group"),
    ENTERPRISE_USER_SCHEMA: ("EnterpriseUser", "Enterprise User: employeeNumber, department and manager are kept"),
    SKILLHUB_USER_SCHEMA: ("SkillhubUser", "Skillhub User: the learner's site"),
}


def schemas(*, base_url: str) -> list[dict[str, Any]]:
    """What /Schemas lists: the core User and Group schemas and the two User extensions."""
    found = []
    for model in (scim.User, scim.Group, EnterpriseUser, SkillhubUser):
        body = model.to_schema().model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE)
        name, description = _SCHEMA_NAMES[body["id"]]
        body.update(name=name, description=description)
        body["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{body['id']}"}
        found.append(body)
    return found
