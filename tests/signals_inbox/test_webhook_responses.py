"""The webhook's status table: 200 new / deduped, 400 invalid_payload, 401 bad_signature, 413."""
from __future__ import annotations

import json

import pytest

from signals_inbox.models import Need, RejectedSignal, Signal
from tests.signals_inbox.factories import post_signal, sign, signal_body

pytestmark = pytest.mark.django_db


def test_new_signal_answers_applied_not_deduped(client, tenant, secret):
    body = signal_body(email="jordan@acme.com", topic="Working at Heights")

    response = post_signal(client, tenant.slug, body, secret=secret)

    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True and answer["applied"] is True and answer["deduped"] is False
    assert answer["signalId"].startswith("sig_")
    signal = Signal.objects.get(pk=answer["signalId"])
    assert signal.tenant_id == tenant.pk
    assert signal.data["email"] == "jordan@acme.com"


def test_resent_signal_is_deduped_onto_the_open_need(client, tenant, secret):
    first = post_signal(client, tenant.slug, signal_body(email="j@acme.com", topic="WAH", severity=2), secret=secret)
    second = post_signal(
        client, tenant.slug, signal_body(email="j@acme.com", topic="WAH", severity=4, payload={"v": 2}), secret=secret
    )

    assert first.json()["deduped"] is False
    assert second.json()["deduped"] is True
    assert second.json()["signalId"] != first.json()["signalId"]
    need = Need.objects.get()
    assert need.signal_count == 2
    assert need.severity == 4
    assert need.payload == {"v": 2}
    assert need.last_seen_at >= need.first_seen_at


def test_invalid_payload_is_400_with_detail_and_no_signal_stored(client, tenant, secret):
    body = signal_body(email="j@acme.com", topic="WAH", severity=9)

    response = post_signal(client, tenant.slug, body, secret=secret)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_payload", "detail": "data.severity must be from 1 (low) to 4 (blocking)"}
    assert not Signal.objects.exists() and not Need.objects.exists()
    assert RejectedSignal.objects.get().reason.startswith("data.severity")


def test_missing_signature_is_401_bad_signature(client, tenant, secret):
    response = post_signal(client, tenant.slug, signal_body(email="j@acme.com", topic="WAH"))

    assert response.status_code == 401
    assert response.json() == {"error": "bad_signature"}
    assert not Signal.objects.exists() and not RejectedSignal.objects.exists()


def test_unknown_tenant_is_401_bad_signature(client, tenant, secret):
    body = signal_body(email="j@acme.com", topic="WAH")

    response = post_signal(client, "no-such-tenant", body, secret=secret)

    assert response.status_code == 401
    assert response.json() == {"error": "bad_signature"}


def test_body_over_256_kib_is_413_even_when_signed(client, tenant, secret):
    body = json.dumps({"event": "signal.incident", "data": {"site": "A", "topic": "T", "payload": "x" * 262_144}}).encode()

    response = post_signal(client, tenant.slug, body, secret=secret)

    assert response.status_code == 413
    assert response.json() == {"error": "payload_too_large"}
    assert not Signal.objects.exists()


def test_body_of_exactly_256_kib_is_accepted(client, tenant, secret):
    head = b'{"event":"signal.incident","data":{"site":"A","topic":"T","payload":"'
    tail = b'"}}'
    body = head + b"x" * (262_144 - len(head) - len(tail)) + tail

    response = post_signal(client, tenant.slug, body, secret=secret)

    assert len(body) == 262_144
    assert response.status_code == 200


def test_webhook_needs_no_csrf_token_or_api_key(tenant, secret):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    body = signal_body(email="j@acme.com", topic="WAH")

    response = strict.post(
        f"/api/v1/integration/{tenant.slug}/webhook", data=body, content_type="application/json",
        HTTP_X_SKILLHUB_SIGNATURE=sign(secret, body),
    )

    assert response.status_code == 200


def test_get_is_405_in_the_webhook_shape(client, tenant):
    response = client.get(f"/api/v1/integration/{tenant.slug}/webhook")

    assert response.status_code == 405
    assert response.json() == {"error": "method_not_allowed"}
