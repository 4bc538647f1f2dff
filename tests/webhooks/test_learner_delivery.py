"""Learner events reach a real local receiver through the broker and a worker, signed and complete."""

from __future__ import annotations

import base64
import json
from datetime import timezone

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from tests.factories import make_api_key
from tests.webhooks.conftest import Reply
from tests.webhooks.helpers import hex_hmac, make_endpoint, make_learner
from webhooks.models import Attempt, Delivery, DeliveryState, Event

pytestmark = pytest.mark.django_db(transaction=True)


def _learners_url(tenant):
    return f"/api/v1/tenants/{tenant.slug}/learners"


def test_learner_created_updated_deleted_arrive_signed_in_sequence(
    api, receiver, allow_private, stub_broker, stub_worker
):
    endpoint = make_endpoint(api.tenant, receiver.url)

    created = api.post(_learners_url(api.tenant), {"firstName": "Thabo", "lastName": "Mokoena"}, format="json").json()
    api.patch(f"{_learners_url(api.tenant)}/{created['id']}", {"lastName": "Dlamini"}, format="json")
    api.delete(f"{_learners_url(api.tenant)}/{created['id']}")
    stub_broker.join("webhooks")

    # Worker threads may deliver out of order; webhook-sequence is how a receiver restores it.
    requests = sorted(receiver.wait_for(3), key=lambda r: int(r.header("webhook-sequence")))
    bodies = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in requests]
    assert [r.header("webhook-sequence") for r in requests] == ["1", "2", "3"]
    assert [b["type"] for b in bodies] == ["learner.created", "learner.updated", "learner.deleted"]
    for request, body in zip(requests, bodies):
        assert request.header("X-Skillhub-Signature") == hex_hmac(endpoint.secret, request.body)
        assert request.header("webhook-id") == body["id"] and body["id"].startswith("evt_")
        assert request.header("Content-Type") == "application/json"
        assert request.header("User-Agent").startswith("skillhub-webhooks/")
        assert request.header("X-Skillhub-Event") == body["type"]
        assert request.header("X-Webhook-Secret") is None
        assert body["tenantId"] == str(api.tenant.id)
        recorded_at = Event.objects.get(pk=body["id"]).created_at.astimezone(timezone.utc)
        assert body["timestamp"] == recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ")  # when it was recorded, in UTC
    assert bodies[0]["data"]["firstName"] == "Thabo"
    assert bodies[1]["data"]["changedFields"] == ["lastName"]
    assert bodies[2]["data"]["id"] == created["id"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}


def test_thin_body_document_url_returns_the_learner_with_an_api_key(
    api, receiver, allow_private, stub_broker, stub_worker
):
    make_endpoint(api.tenant, receiver.url, payload_style="thin")

    created = api.post(_learners_url(api.tenant), {"firstName": "Lerato", "lastName": "Khumalo"}, format="json").json()
    stub_broker.join("webhooks")

    (request,) = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["type"] == "learner.created" and body["action"] == "created"
    assert set(body) == {"id", "type", "action", "document"}
    assert body["document"]["type"] == "learner" and body["document"]["id"] == created["id"]
    url = body["document"]["url"]
    assert url == f"{settings.SKILLHUB_PUBLIC_URL}/api/v1/tenants/{api.tenant.slug}/learners/{created['id']}"
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(api.tenant, scopes=['learners:read'])}")
    response = reader.get(url.removeprefix(settings.SKILLHUB_PUBLIC_URL))
    assert response.status_code == 200
    assert response.json()["firstName"] == "Lerato"


def test_basic_auth_extra_headers_and_secret_header_are_sent_without_overriding_signed_ones(
    tenant, receiver, allow_private, stub_broker, stub_worker
):
    endpoint = make_endpoint(
        tenant,
        receiver.url,
        basic_auth_username="customer",
        basic_auth_password="s3cret",
        additional_headers={"client_id": "abc", "X-Env": "prod"},
        send_secret_header=True,
    )
    make_learner(tenant)
    stub_broker.join("webhooks")

    (request,) = receiver.wait_for(1)
    assert request.header("Authorization") == "Basic " + base64.b64encode(b"customer:s3cret").decode()
    assert request.header("client_id") == "abc" and request.header("X-Env") == "prod"
    assert request.header("X-Webhook-Secret") == endpoint.secret
    Webhook(endpoint.secret).verify(request.body, request.headers)


def test_each_attempt_is_logged_with_status_duration_and_first_4_kib_of_the_body(
    tenant, receiver, allow_private, stub_broker, stub_worker
):
    make_endpoint(tenant, receiver.url)
    receiver.reply(Reply(status=202, body=b"x" * 10_000))
    make_learner(tenant)
    stub_broker.join("webhooks")

    attempt = Attempt.objects.get()
    assert attempt.status_code == 202 and attempt.succeeded
    assert attempt.response_body == "x" * 4096
    assert attempt.duration_ms >= 0 and attempt.started_at is not None
    assert attempt.delivery.state == DeliveryState.SUCCEEDED
