"""Groups with members and sites over the API: what the console does, for integrations."""
from __future__ import annotations

import pytest

from learning.models import Learner
from learning.services import learner_create
from tenants.models import Group, Site
from tests.factories import TenantFactory, make_api_key
from webhooks.models import Event

pytestmark = pytest.mark.django_db

BASE = "/api/v1/tenants/acme"


@pytest.fixture
def tenant():  # noqa: ANN201
    return TenantFactory(slug="acme")


@pytest.fixture
def api(tenant):  # noqa: ANN001, ANN201
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}")
    return client


def _learners(tenant, n):  # noqa: ANN001, ANN202
    return [learner_create(tenant=tenant, values={"first_name": f"L{i}", "last_name": "X"}) for i in range(n)]


def test_a_group_created_with_members_is_a_learner_filter_and_each_member_records_learner_updated(api, tenant):  # noqa: ANN001
    a, b, c = _learners(tenant, 3)
    response = api.post(f"{BASE}/groups", {"name": "Night shift", "learnerIds": [str(a.pk), str(b.pk)]}, format="json")
    assert response.status_code == 201
    group = response.json()
    assert group["name"] == "Night shift" and group["memberCount"] == 2
    members = api.get(f"{BASE}/learners", {"group": group["id"]}).json()["data"]
    assert {m["id"] for m in members} == {str(a.pk), str(b.pk)}
    assert all(group["id"] in m["groups"] for m in members)
    updated = Event.objects.filter(type="learner.updated", subject_id__in=[str(a.pk), str(b.pk)])
    assert updated.count() == 2 and all("groups" in e.data["changedFields"] for e in updated)


def test_members_are_added_removed_and_replaced_by_patch(api, tenant):  # noqa: ANN001
    a, b, c = _learners(tenant, 3)
    group = api.post(f"{BASE}/groups", {"name": "Crew", "learnerIds": [str(a.pk)]}, format="json").json()
    url = f"{BASE}/groups/{group['id']}"
    assert api.patch(url, {"addLearnerIds": [str(b.pk), str(c.pk)], "removeLearnerIds": [str(a.pk)]}, format="json").json()["memberCount"] == 2
    assert set(Learner.objects.get(pk=a.pk).group_ids) == set()
    assert api.patch(url, {"learnerIds": [str(a.pk)], "name": "Crew A"}, format="json").json() == {
        **group, "name": "Crew A", "memberCount": 1,
    }
    assert list(Group.objects.get(pk=group["id"]).learners.all()) == [Learner.objects.get(pk=a.pk)]


def test_deleting_a_group_keeps_its_learners(api, tenant):  # noqa: ANN001
    (a,) = _learners(tenant, 1)
    group = api.post(f"{BASE}/groups", {"name": "Crew", "learnerIds": [str(a.pk)]}, format="json").json()
    assert api.delete(f"{BASE}/groups/{group['id']}").status_code == 204
    assert not Group.objects.exists()
    assert Learner.objects.get(pk=a.pk).group_ids == []
    assert api.get(f"{BASE}/learners/{a.pk}").json()["groups"] == []


def test_bad_group_input_is_refused_and_changes_nothing(api, tenant):  # noqa: ANN001
    other = TenantFactory(slug="other")
    (theirs,) = _learners(other, 1)
    unknown = api.post(f"{BASE}/groups", {"name": "Crew", "learnerIds": [str(theirs.pk)]}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["details"]["field"] == "learnerIds"
    assert not Group.objects.exists()
    api.post(f"{BASE}/groups", {"name": "Crew"}, format="json")
    duplicate = api.post(f"{BASE}/groups", {"name": "Crew"}, format="json")
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "CONFLICT"
    theirs_group = Group.objects.create(tenant=other, name="Theirs")
    assert api.get(f"{BASE}/groups/{theirs_group.pk}").status_code == 404
    assert api.delete(f"{BASE}/groups/{theirs_group.pk}").status_code == 404


def test_sites_are_listed_created_and_renamed_and_learners_follow(api, tenant):  # noqa: ANN001
    learner = learner_create(tenant=tenant, values={"first_name": "A", "last_name": "B", "site": "Site A"})
    before = Learner.objects.get(pk=learner.pk).updated_at
    listed = api.get(f"{BASE}/sites").json()
    assert [(s["name"], s["learnerCount"]) for s in listed["data"]] == [("Site A", 1)]
    created = api.post(f"{BASE}/sites", {"name": "Site B"}, format="json")
    assert created.status_code == 201 and created.json()["learnerCount"] == 0
    assert api.post(f"{BASE}/sites", {"name": "Site B"}, format="json").status_code == 409
    site_id = listed["data"][0]["id"]
    renamed = api.patch(f"{BASE}/sites/{site_id}", {"name": "Plant North"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Plant North"
    assert api.get(f"{BASE}/learners/{learner.pk}").json()["site"] == "Plant North"
    assert Learner.objects.get(pk=learner.pk).updated_at > before
    assert api.patch(f"{BASE}/sites/{site_id}", {"name": "Site B"}, format="json").status_code == 409
    theirs = Site.objects.create(tenant=TenantFactory(slug="other"), name="Theirs")
    assert api.get(f"{BASE}/sites/{theirs.pk}").status_code == 404


def test_group_and_site_writes_follow_the_role_table(tenant):  # noqa: ANN001
    from rest_framework.test import APIClient

    facilitator, viewer = APIClient(), APIClient()
    facilitator.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, role='facilitator')}")
    viewer.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, role='viewer')}")
    assert facilitator.post(f"{BASE}/groups", {"name": "Crew"}, format="json").status_code == 201
    assert facilitator.post(f"{BASE}/sites", {"name": "Site Z"}, format="json").status_code == 403
    assert viewer.post(f"{BASE}/groups", {"name": "Other"}, format="json").status_code == 403
    assert viewer.get(f"{BASE}/groups").status_code == 200
