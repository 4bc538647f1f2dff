"""SCIM Groups (learner groups) with membership by PATCH, discovery, the scim scope, and tenant isolation."""
from __future__ import annotations

import pytest

from learning.models import Learner
from tenants.models import Group, Role
from tests.factories import TenantFactory, make_api_key
from tests.provisioning.conftest import ENTERPRISE, GROUP, SKILLHUB, USER, ScimClient, barbara
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _user(client: ScimClient, n: int) -> str:
    body = barbara(userName=f"u{n}@example.com", externalId=f"E-{n}", emails=[{"value": f"u{n}@example.com", "primary": True}])
    return client.post("Users", body).json()["id"]


def test_group_membership_add_and_remove_by_patch(scim_client):
    first, second = _user(scim_client, 1), _user(scim_client, 2)
    created = scim_client.post("Groups", {"schemas": [GROUP], "displayName": "Tour Guides", "members": [{"value": first}]})
    assert created.status_code == 201, created.content
    group_id = created.json()["id"]
    assert [m["value"] for m in created.json()["members"]] == [first]

    added = scim_client.patch(f"Groups/{group_id}", [{"op": "add", "path": "members", "value": [{"value": second}]}])
    assert added.status_code == 200, added.content
    assert {m["value"] for m in added.json()["members"]} == {first, second}
    assert group_id in Learner.objects.get(pk=second).group_ids
    membership_event = Event.objects.filter(type="learner.updated", subject_id=second).get()
    assert membership_event.data["changedFields"] == ["groups"] and membership_event.data["groups"] == [group_id]

    removed = scim_client.patch(f"Groups/{group_id}", [{"op": "remove", "path": f'members[value eq "{first}"]'}])
    assert [m["value"] for m in removed.json()["members"]] == [second]
    assert Learner.objects.get(pk=first).group_ids == []

    # Entra's form: a remove whose value lists the members.
    entra = scim_client.patch(f"Groups/{group_id}", [{"op": "Remove", "path": "members", "value": [{"value": second}]}])
    assert "members" not in entra.json()
    assert not Group.objects.get(pk=group_id).learners.exists()

    # The user shows its groups, read-only.
    scim_client.patch(f"Groups/{group_id}", [{"op": "add", "path": "members", "value": [{"value": first}]}])
    assert scim_client.get(f"Users/{first}").json()["groups"] == [{"value": group_id, "display": "Tour Guides"}]


def test_group_rename_replace_filter_and_delete(scim_client):
    member = _user(scim_client, 1)
    group_id = scim_client.post("Groups", {"schemas": [GROUP], "displayName": "Drivers"}).json()["id"]

    renamed = scim_client.patch(f"Groups/{group_id}", [{"op": "replace", "value": {"displayName": "Forklift Drivers"}}])
    assert renamed.json()["displayName"] == "Forklift Drivers"
    replaced = scim_client.put(f"Groups/{group_id}", {"schemas": [GROUP], "displayName": "Forklift Drivers", "members": [{"value": member}]})
    assert [m["value"] for m in replaced.json()["members"]] == [member]

    found = scim_client.get('Groups?filter=displayName eq "forklift drivers"&excludedAttributes=members').json()
    assert [g["id"] for g in found["Resources"]] == [group_id] and "members" not in found["Resources"][0]
    assert scim_client.get(f'Groups?filter=members[value eq "{member}"]').json()["totalResults"] == 1

    deleted = scim_client.delete(f"Groups/{group_id}")
    assert deleted.status_code == 204
    assert not Group.objects.filter(pk=group_id).exists()
    assert Learner.objects.get(pk=member).group_ids == []
    assert scim_client.get(f"Groups/{group_id}").status_code == 404


def test_unknown_members_and_duplicate_names_are_refused(scim_client):
    scim_client.post("Groups", {"schemas": [GROUP], "displayName": "Drivers"})

    unknown = scim_client.post("Groups", {"schemas": [GROUP], "displayName": "Other", "members": [{"value": "0190d6f0-0000-7000-8000-000000000000"}]})
    duplicate = scim_client.post("Groups", {"schemas": [GROUP], "displayName": "Drivers"})

    assert unknown.status_code == 400 and unknown.json()["scimType"] == "invalidValue"
    assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"
    assert Group.objects.count() == 1


def test_another_tenants_ids_answer_404_and_change_nothing(scim_client):
    other = TenantFactory()
    theirs = ScimClient(other, make_api_key(other, scopes=["scim"]))
    their_user = _user(theirs, 9)
    their_group = theirs.post("Groups", {"schemas": [GROUP], "displayName": "Theirs", "members": [{"value": their_user}]}).json()["id"]

    assert scim_client.get(f"Users/{their_user}").status_code == 404
    assert scim_client.patch(f"Users/{their_user}", [{"op": "replace", "value": {"active": False}}]).status_code == 404
    assert scim_client.delete(f"Users/{their_user}").status_code == 404
    assert scim_client.get(f"Groups/{their_group}").status_code == 404
    assert scim_client.post("Groups", {"schemas": [GROUP], "displayName": "Mine", "members": [{"value": their_user}]}).status_code == 400
    assert scim_client.get('Users?filter=userName eq "u9@example.com"').json()["totalResults"] == 0
    assert scim_client.get(f"{theirs.base}/Users").status_code == 404  # my key on their base URL
    assert Learner.objects.get(pk=their_user).status == "active"


def test_the_scim_scope_and_a_writing_role_are_required(tenant):
    no_scope = ScimClient(tenant, make_api_key(tenant, scopes=["learners:read", "learners:write"]))
    viewer = ScimClient(tenant, make_api_key(tenant, role=Role.VIEWER, scopes=["scim"]))
    nobody = ScimClient(tenant, "shk_not-a-key")

    assert no_scope.get("Users").status_code == 403
    assert viewer.get("Users").status_code == 200
    refused = viewer.post("Users", barbara())
    assert refused.status_code == 403 and refused.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    unauthenticated = nobody.get("Users")
    assert unauthenticated.status_code == 401 and unauthenticated["Content-Type"].startswith("application/scim+json")
    assert not Learner.objects.exists()


def test_discovery_endpoints(scim_client):
    config = scim_client.get("ServiceProviderConfig").json()
    assert config["patch"] == {"supported": True} and config["etag"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": 1000} and config["bulk"]["supported"] is False

    types = scim_client.get("ResourceTypes").json()
    user_type = next(t for t in types["Resources"] if t["id"] == "User")
    assert user_type["endpoint"] == "/Users"
    assert {e["schema"] for e in user_type["schemaExtensions"]} == {ENTERPRISE, SKILLHUB}
    assert scim_client.get("ResourceTypes/Group").json()["endpoint"] == "/Groups"

    schemas = scim_client.get("Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} == {USER, GROUP, ENTERPRISE, SKILLHUB}
    site = scim_client.get(f"Schemas/{SKILLHUB}").json()
    assert [a["name"] for a in site["attributes"]] == ["site"]
    assert scim_client.get("Bulk").status_code in (404, 501)
    assert scim_client.get("Nothing").json()["status"] == "404"
