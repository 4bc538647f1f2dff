"""The User flows identity providers run: create, find by userName, deactivate, replace, delete; events as the REST API's."""
from __future__ import annotations

import pytest

from learning.models import Learner, LearnerStatus
from tests.factories import LearnerFactory
from tests.provisioning.conftest import ENTERPRISE, SKILLHUB, USER, barbara
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def test_create_answers_201_with_the_resource_its_location_and_etag(scim_client):
    response = scim_client.post("Users", barbara())

    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["userName"] == "bjensen@example.com"
    assert body["externalId"] == "701984"
    assert body["name"]["givenName"] == "Barbara" and body["name"]["familyName"] == "Jensen"
    assert body["emails"] == [{"value": "bjensen@example.com", "type": "work", "primary": True}]
    assert body["active"] is True
    assert body["title"] == "Tour Guide"
    assert body[ENTERPRISE] == {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
    assert body["schemas"][0] == USER
    assert response["Location"] == body["meta"]["location"] and body["meta"]["location"].endswith(f"/Users/{body['id']}")
    assert response["ETag"] == body["meta"]["version"]

    learner = Learner.objects.get(pk=body["id"])
    assert (learner.first_name, learner.last_name, learner.email, learner.external_worker_id, learner.role) == (
        "Barbara", "Jensen", "bjensen@example.com", "701984", "Tour Guide",
    )
    event = Event.objects.get(type="learner.created")
    assert event.data["id"] == body["id"] and event.tenant_id == scim_client.tenant.pk


def test_get_by_username_filter_finds_the_user_case_insensitively(scim_client):
    created = scim_client.post("Users", barbara()).json()

    found = scim_client.get('Users?filter=userName eq "BJensen@Example.com"').json()
    missing = scim_client.get('Users?filter=userName eq "nobody@example.com"').json()

    assert found["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert found["totalResults"] == 1 and found["startIndex"] == 1 and found["itemsPerPage"] == 1
    assert found["Resources"][0]["id"] == created["id"]
    assert missing["totalResults"] == 0 and missing["Resources"] == []


def test_a_learner_created_elsewhere_is_found_by_its_email_as_username(scim_client):
    learner = LearnerFactory(tenant=scim_client.tenant, email="thabo@example.com")

    found = scim_client.get('Users?filter=userName eq "thabo@example.com"').json()

    assert [r["id"] for r in found["Resources"]] == [str(learner.pk)]


def test_patch_active_false_deactivates_and_keeps_the_learner_and_its_history(scim_client):
    created = scim_client.post("Users", barbara()).json()

    response = scim_client.patch(f"Users/{created['id']}", [{"op": "replace", "value": {"active": False}}])

    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    learner = Learner.objects.get(pk=created["id"])
    assert learner.status == LearnerStatus.INACTIVE
    updated = Event.objects.get(type="learner.updated")
    assert updated.data["changedFields"] == ["status"] and updated.data["previous"] == {"status": "active"}
    assert Event.objects.filter(type="learner.created", subject_id=created["id"]).exists()

    again = scim_client.patch(f"Users/{created['id']}", [{"op": "Replace", "path": "active", "value": True}])
    assert again.json()["active"] is True


def test_patch_paths_identity_providers_send(scim_client):
    user_id = scim_client.post("Users", barbara()).json()["id"]

    response = scim_client.patch(
        f"Users/{user_id}",
        [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "barbara@example.com"},
            {"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Guiding"},
            {"op": "replace", "path": f"{SKILLHUB}:site", "value": "Cape Town"},
            {"op": "remove", "path": "title"},
        ],
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["emails"][0]["value"] == "barbara@example.com"
    assert body[ENTERPRISE]["department"] == "Guiding"
    assert body[SKILLHUB] == {"site": "Cape Town"}
    learner = Learner.objects.select_related("site").get(pk=user_id)
    assert (learner.email, learner.last_name, learner.site.name, learner.role) == ("barbara@example.com", "Jensen-Smith", "Cape Town", "")
    event = Event.objects.get(type="learner.updated")
    assert set(event.data["changedFields"]) == {"email", "lastName", "site", "role"}


def test_put_replaces_the_user(scim_client):
    created = scim_client.post("Users", barbara()).json()

    replacement = barbara(name={"givenName": "Barb", "familyName": "Jensen"}, title=None, active=False)
    replacement.pop("title")
    response = scim_client.put(f"Users/{created['id']}", replacement)

    assert response.status_code == 200, response.content
    learner = Learner.objects.get(pk=created["id"])
    assert (learner.first_name, learner.role, learner.status) == ("Barb", "", LearnerStatus.INACTIVE)
    assert set(Event.objects.get(type="learner.updated").data["changedFields"]) == {"firstName", "role", "status"}


def test_writing_the_same_values_again_records_nothing(scim_client):
    created = scim_client.post("Users", barbara()).json()

    scim_client.put(f"Users/{created['id']}", barbara())
    scim_client.patch(f"Users/{created['id']}", [{"op": "replace", "path": "active", "value": True}])

    assert not Event.objects.filter(type="learner.updated").exists()


def test_delete_removes_the_learner_as_the_rest_api_does(scim_client):
    created = scim_client.post("Users", barbara()).json()

    response = scim_client.delete(f"Users/{created['id']}")

    assert response.status_code == 204
    assert not Learner.objects.filter(pk=created["id"]).exists()
    assert Event.objects.filter(type="learner.deleted", subject_id=created["id"]).exists()
    assert scim_client.get(f"Users/{created['id']}").status_code == 404


def test_duplicate_username_or_email_is_409_uniqueness(scim_client):
    scim_client.post("Users", barbara())

    same_user_name = scim_client.post("Users", barbara(externalId="2", emails=[{"value": "other@example.com", "primary": True}]))
    same_email = scim_client.post("Users", barbara(userName="someone-else", externalId="3"))

    for response in (same_user_name, same_email):
        assert response.status_code == 409
        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["status"] == "409" and body["scimType"] == "uniqueness"
    assert Learner.objects.count() == 1


def test_if_match_with_a_stale_version_is_412_and_changes_nothing(scim_client):
    created = scim_client.post("Users", barbara()).json()
    version = created["meta"]["version"]
    scim_client.patch(f"Users/{created['id']}", [{"op": "replace", "path": "title", "value": "Lead Guide"}], **{"If-Match": version})

    stale = scim_client.patch(f"Users/{created['id']}", [{"op": "replace", "path": "title", "value": "X"}], **{"If-Match": version})

    assert stale.status_code == 412
    assert Learner.objects.get(pk=created["id"]).role == "Lead Guide"
    fresh = scim_client.get(f"Users/{created['id']}")
    assert scim_client.get(f"Users/{created['id']}", **{"If-None-Match": fresh["ETag"]}).status_code == 304


def test_filters_and_paging(scim_client):
    for n in range(5):
        scim_client.post("Users", barbara(userName=f"user{n}@example.com", externalId=f"E-{n}", emails=[{"value": f"user{n}@example.com", "primary": True}]))
    fourth = scim_client.get('Users?filter=externalId eq "E-4"').json()["Resources"][0]["id"]
    scim_client.patch(f"Users/{fourth}", [{"op": "replace", "value": {"active": False}}])

    def ids(query: str) -> list[str]:
        body = scim_client.get(f"Users?{query}").json()
        assert "Resources" in body, body
        return [r["externalId"] for r in body["Resources"]]

    assert ids('filter=externalId eq "E-1" or externalId eq "E-3"') == ["E-1", "E-3"]
    assert ids('filter=userName sw "user" and active eq false') == ["E-4"]
    assert ids('filter=emails.value co "user2"') == ["E-2"]
    assert ids('filter=emails[type eq "work" and value eq "user3@example.com"]') == ["E-3"]
    assert ids('filter=name.givenName eq "barbara" and not (externalId eq "E-0")') == ["E-1", "E-2", "E-3", "E-4"]
    page = scim_client.get("Users?startIndex=2&count=2").json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["externalId"] for r in page["Resources"]] == ["E-1", "E-2"]
    assert scim_client.get("Users?count=0").json()["Resources"] == []


def test_a_filter_that_cannot_be_served_is_400_invalid_filter(scim_client):
    for query in ('filter=userName eq', 'filter=nickName eq "x"', 'filter=active eq "yes"'):
        response = scim_client.get(f"Users?{query}")
        assert response.status_code == 400, query
        assert response.json()["scimType"] == "invalidFilter", response.json()


def test_bad_payloads_are_scim_errors(scim_client):
    no_name = scim_client.post("Users", {"schemas": [scim_client_user()], "userName": "x@example.com"})
    not_json = scim_client.http.post(f"{scim_client.base}/Users", data="{", content_type="application/scim+json")
    bad_op = scim_client.patch(f"Users/{scim_client.post('Users', barbara()).json()['id']}", [{"op": "explode", "path": "title"}])

    assert no_name.status_code == 400 and no_name.json()["scimType"] == "invalidValue"
    assert not_json.status_code == 400 and not_json.json()["scimType"] == "invalidSyntax"
    assert bad_op.status_code == 400 and bad_op.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert Learner.objects.count() == 1


def scim_client_user() -> str:
    return USER


def test_a_user_created_over_scim_takes_the_needs_parked_for_them(scim_client, client, django_capture_on_commit_callbacks):
    from signals_inbox.models import Target
    from tests.signals_inbox.factories import issue_secret, send_and_resolve

    need = send_and_resolve(client, scim_client.tenant, issue_secret(scim_client.tenant), external_worker_id="701984", topic="WAH")
    assert need.target == Target.UNMATCHED
    with django_capture_on_commit_callbacks(execute=True):
        created = scim_client.post("Users", barbara()).json()
    need.refresh_from_db()
    assert need.target == Target.WORKER and str(need.learner_id) == created["id"]
