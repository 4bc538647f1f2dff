"""The webhook management API: create (JSON, form, document 001 names), read, update, ping, rotate, deliveries."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from tests.factories import make_api_key
from tests.webhooks.conftest import Reply
from tests.webhooks.helpers import make_endpoint, make_learner, send_due
from webhooks.engine.delivery import send as send_delivery
from webhooks.models import Delivery, DeliveryState, Endpoint

pytestmark = pytest.mark.django_db


def _url(api, suffix: str = "") -> str:
    return f"/api/v1/tenants/{api.tenant.slug}/webhooks{suffix}"


def test_create_with_spec_names_returns_the_secret_once(api, receiver, allow_private):
    response = api.post(
        _url(api),
        {
            "url": receiver.url,
            "events": ["learner.created", "COURSE_ENROLLMENT"],
            "description": "HR sync",
            "payloadStyle": "thin",
            "retryPolicy": "exponential",
            "sendSecretHeader": True,
            "basicAuthUsername": "u",
            "basicAuthPassword": "p",
            "additionalHeaders": {"X-Client": "abc"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["id"].startswith("we_")
    assert body["events"] == ["learner.created", "course.enrolled"]
    assert body["enabled"] is True and body["deactivateReason"] is None
    assert body["payloadStyle"] == "thin" and body["retryPolicy"] == "exponential"
    assert body["basicAuthPasswordSet"] is True and "basicAuthPassword" not in body
    assert body["additionalHeaders"] == {"X-Client": "********"}

    listed = api.get(_url(api)).json()
    read = api.get(_url(api, f"/{body['id']}")).json()
    for shown in (listed["data"][0], read):
        assert "secret" not in shown and body["secret"] not in json.dumps(shown)
    assert listed["pagination"]["total"] == 1


def test_create_form_encoded_with_document_001_names(api, receiver, allow_private):
    response = api.post(
        _url(api),
        {
            "target_url": receiver.url,
            "active": "true",
            "event_type": "COURSE_ENROLLMENT",
            "additional_headers": '{"client_id": "x"}',
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["url"] == receiver.url and body["events"] == ["course.enrolled"] and body["enabled"] is True
    assert body["additionalHeaders"] == {"client_id": "********"}


def test_blank_event_type_means_every_event(api, receiver, allow_private):
    response = api.post(_url(api), {"target_url": receiver.url, "event_type": ""})
    assert response.status_code == 201
    assert response.json()["events"] == []


def test_invalid_fields_are_all_listed_and_nothing_is_created(api, receiver, allow_private):
    response = api.post(
        _url(api),
        {
            "url": receiver.url,
            "events": ["learner.exploded"],
            "payloadStyle": "fat",
            "additionalHeaders": {"webhook-signature": "forged"},
            "secret": "hunter2",
            "colour": "blue",
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    fields = {item["field"] for item in error["details"]["errors"]}
    assert fields == {"colour"}  # unknown fields are refused before anything else is looked at
    response = api.post(
        _url(api),
        {
            "url": receiver.url,
            "events": ["learner.exploded"],
            "payloadStyle": "fat",
            "additionalHeaders": {"webhook-signature": "forged"},
            "secret": "hunter2",
            "enabled": "maybe",
        },
        format="json",
    )
    error = response.json()["error"]
    fields = {item["field"] for item in error["details"]["errors"]}
    assert fields == {"events", "payloadStyle", "additionalHeaders", "secret", "enabled"}
    assert error["details"]["field"] in fields
    assert Endpoint.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "[1, 2]",
        '"just a string"',
        "{not json",
        '{"url": 12}',
        '{"url": null}',
        '{"events": "learner.created", "url": 1}',
        '{"additionalHeaders": ["a"], "url": "https://x"}',
        '{"url": "https://x", "url_typo": 1}',
    ],
)
def test_malformed_bodies_get_a_4xx_never_a_500(api, body):
    response = api.generic("POST", _url(api), body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


@pytest.mark.parametrize(
    "values, field",
    [
        ({"additionalHeaders": {"X-A": " padded"}}, "additionalHeaders"),
        ({"additionalHeaders": {"X-A": "caf\u00e9"}}, "additionalHeaders"),
        ({"additionalHeaders": {"X-A": "two\nlines"}}, "additionalHeaders"),
        ({"additionalHeaders": {"Bad Name": "x"}}, "additionalHeaders"),
        ({"additionalHeaders": {f"X-{n}": "x" for n in range(21)}}, "additionalHeaders"),
        ({"basicAuthUsername": "a:b"}, "basicAuthUsername"),
        ({"basicAuthPassword": "\u2603"}, "basicAuthPassword"),
        ({"events": "learner.created,bogus.event"}, "events"),
        ({"retryPolicy": "forever"}, "retryPolicy"),
        ({"description": "x" * 501}, "description"),
    ],
)
def test_values_that_could_not_be_sent_are_refused_at_create(api, receiver, allow_private, values, field):
    response = api.post(_url(api), {"url": receiver.url, **values}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field
    assert Endpoint.objects.count() == 0


def test_put_with_only_target_url_changes_the_url(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url, description="keep me")
    response = api.put(_url(api, f"/{endpoint.pk}"), {"target_url": receiver.url + "/v2"}, format="json")
    assert response.status_code == 200
    assert response.json()["url"] == receiver.url + "/v2" and response.json()["description"] == "keep me"


def test_sending_back_masked_header_values_keeps_them(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url, additional_headers={"client_secret": "s3"})
    shown = api.get(_url(api, f"/{endpoint.pk}")).json()
    response = api.put(_url(api, f"/{endpoint.pk}"), shown, format="json")
    assert response.status_code == 200, response.json()
    endpoint.refresh_from_db()
    assert endpoint.additional_headers == {"client_secret": "s3"}


def test_disable_then_re_enable_clears_the_reason(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url)
    off = api.patch(_url(api, f"/{endpoint.pk}"), {"active": False}, format="json").json()
    assert off["enabled"] is False and off["deactivateReason"]
    on = api.patch(_url(api, f"/{endpoint.pk}"), {"enabled": True}, format="json").json()
    assert on["enabled"] is True and on["deactivateReason"] is None


def test_delete_removes_the_endpoint(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url)
    assert api.delete(_url(api, f"/{endpoint.pk}")).status_code == 204
    assert api.get(_url(api, f"/{endpoint.pk}")).status_code == 404


def test_ping_queues_a_signed_webhook_ping_whose_outcome_the_delivery_log_shows(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url, events=["learner.created"])

    response = api.post(_url(api, f"/{endpoint.pk}/ping"))

    assert response.status_code == 202
    queued = response.json()
    assert queued["isPing"] is True and queued["eventType"] == "webhook.ping" and queued["status"] == "pending"
    send_due()
    (request,) = receiver.wait_for(1)
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body["type"] == "webhook.ping" and body["data"]["id"] == endpoint.pk
    logged = api.get(_url(api, f"/deliveries/{queued['id']}")).json()
    assert logged["status"] == "succeeded" and logged["attempts"][0]["statusCode"] == 200


def test_failed_ping_is_logged_with_the_status_and_leaves_the_endpoint_alone(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url, retry_policy="exponential")
    receiver.reply(Reply(status=404, body=b"no such hook"))

    queued = api.post(_url(api, f"/{endpoint.pk}/ping")).json()
    send_due()

    logged = api.get(_url(api, f"/deliveries/{queued['id']}")).json()
    (attempt,) = logged["attempts"]
    assert attempt["succeeded"] is False and attempt["statusCode"] == 404 and attempt["responseBody"] == "no such hook"
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert Delivery.objects.get(is_ping=True).state == DeliveryState.FAILED
    assert send_due() == []  # a ping is one attempt


def test_a_disabled_endpoint_can_be_pinged_before_re_enabling_it(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url)
    api.patch(_url(api, f"/{endpoint.pk}"), {"enabled": False}, format="json")

    response = api.post(_url(api, f"/{endpoint.pk}/ping"))
    send_due()

    assert response.status_code == 202
    assert len(receiver.wait_for(1)) == 1
    assert Delivery.objects.get(is_ping=True).state == DeliveryState.SUCCEEDED
    endpoint.refresh_from_db()
    assert endpoint.enabled is False


def test_rotate_secret_returns_the_new_secret_and_both_sign(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url)
    response = api.post(_url(api, f"/{endpoint.pk}/rotate-secret"))
    assert response.status_code == 200
    new_secret = response.json()["secret"]
    assert new_secret != endpoint.secret and response.json()["secretRotationEndsAt"]

    api.post(_url(api, f"/{endpoint.pk}/ping"))
    send_due()

    (request,) = receiver.wait_for(1)
    Webhook(new_secret).verify(request.body, request.headers)
    Webhook(endpoint.secret).verify(request.body, request.headers)


def test_deliveries_list_their_attempts_and_next_attempt(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url)
    receiver.reply(Reply(status=500, body=b"boom"))
    make_learner(api.tenant)
    send_delivery(delivery_id=Delivery.objects.get().pk)

    body = api.get(_url(api, f"/{endpoint.pk}/deliveries")).json()

    (delivery,) = body["data"]
    assert delivery["status"] == "pending" and delivery["eventType"] == "learner.created"
    assert delivery["nextAttemptAt"] and delivery["attemptCount"] == 1 and delivery["sequence"] == 1
    (attempt,) = delivery["attempts"]
    assert attempt["statusCode"] == 500 and attempt["responseBody"] == "boom" and attempt["succeeded"] is False
    assert api.get(_url(api, f"/{endpoint.pk}/deliveries?status=succeeded")).json()["data"] == []
    assert api.get(_url(api, f"/{endpoint.pk}/deliveries?status=bogus")).status_code == 400
    assert (
        api.get(_url(api, f"/{endpoint.pk}/deliveries?eventType=DOMAIN_ENROLLMENT")).json()["pagination"]["total"] == 1
    )
    assert api.get(_url(api, f"/deliveries/{delivery['id']}")).json()["id"] == delivery["id"]


def test_retry_restarts_a_failed_delivery(
    api, receiver, allow_private, stub_broker, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(api.tenant, receiver.url, retry_policy="exponential")
    receiver.reply(Reply(status=400))
    make_learner(api.tenant)
    delivery = Delivery.objects.get()
    send_delivery(delivery_id=delivery.pk)
    assert api.post(_url(api, f"/deliveries/{delivery.pk}/retry")).status_code == 409  # endpoint now disabled
    api.patch(_url(api, f"/{endpoint.pk}"), {"enabled": True}, format="json")
    stub_broker.flush_all()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(_url(api, f"/deliveries/{delivery.pk}/retry"))

    assert response.status_code == 202
    # attemptCount counts every attempt made (the failed one), not the new schedule's cycle.
    assert response.json()["status"] == "pending" and response.json()["attemptCount"] == 1
    assert stub_broker.queues["webhooks"].qsize() == 1
    assert send_delivery(delivery_id=delivery.pk).succeeded
    attempts = api.get(_url(api, f"/deliveries/{delivery.pk}")).json()
    assert attempts["attemptCount"] == 2 and [a["number"] for a in attempts["attempts"]] == [1, 2]


def test_replay_resends_failed_deliveries_since_a_time_of_chosen_types(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url)
    make_learner(api.tenant, 1)
    learner = make_learner(api.tenant, 2)
    from learning.services import learner_delete

    learner_delete(learner=learner)
    Delivery.objects.update(state=DeliveryState.FAILED, next_attempt_at=None)
    since = (timezone.now() - timedelta(minutes=1)).isoformat()

    response = api.post(
        _url(api, f"/{endpoint.pk}/replay"), {"since": since, "eventTypes": ["learner.created"]}, format="json"
    )

    assert response.status_code == 202 and response.json() == {"replayed": 2}
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 2
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.post(_url(api, f"/{endpoint.pk}/replay"), {"since": later}, format="json").json() == {"replayed": 0}
    assert api.post(_url(api, f"/{endpoint.pk}/replay"), {"since": "yesterday"}, format="json").status_code == 400
    assert (
        api.post(
            _url(api, f"/{endpoint.pk}/replay"), {"since": since, "eventTypes": ["nope"]}, format="json"
        ).status_code
        == 400
    )


def test_scopes_guard_reads_and_writes(api, receiver, allow_private):
    endpoint = make_endpoint(api.tenant, receiver.url)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(api.tenant, scopes=['webhooks:read'])}")
    assert reader.get(_url(api)).status_code == 200
    assert reader.post(_url(api), {"url": receiver.url}, format="json").status_code == 403
    assert reader.post(_url(api, f"/{endpoint.pk}/rotate-secret")).status_code == 403
    outsider = APIClient()
    outsider.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(api.tenant, scopes=['learners:read'])}")
    assert outsider.get(_url(api)).status_code == 403
    assert APIClient().get(_url(api)).status_code == 401


def test_event_types_are_public_and_list_the_catalog_with_aliases():
    response = APIClient().get("/api/v1/event-types?limit=1000")
    assert response.status_code == 200
    types = {item["type"]: item for item in response.json()["data"]}
    assert len(types) == response.json()["pagination"]["total"] == 32
    assert types["course.enrolled"]["aliases"] == ["COURSE_ENROLLMENT"]
    assert types["learner.created"]["schema"]["properties"]["firstName"] == {"type": "string"}
    assert types["learner.created"]["sent"] is True


def test_openapi_documents_the_webhook_routes():
    schema = APIClient().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/tenants/{slug}/webhooks/{endpoint_id}/rotate-secret" in paths
    assert "endpoint.disabled" in paths["/api/v1/event-types"]["get"]["description"]
