"""Signatures a receiver can verify: Standard Webhooks, the hex HMAC, and both secrets during a rotation."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.webhooks.helpers import hex_hmac, make_endpoint, make_learner, send_due
from webhooks import signing
from webhooks.models import Endpoint
from webhooks.services import endpoint_rotate_secret

pytestmark = pytest.mark.django_db


def test_generated_secret_is_whsec_with_24_random_bytes():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :])) == 24
    assert signing.generate_secret() != secret


def test_standard_signature_verifies_with_the_public_library():
    secret = signing.generate_secret()
    body = b'{"id":"evt_1","type":"learner.created"}'
    headers = signing.signature_headers(secrets_=[secret], msg_id="evt_1", timestamp=int(time.time()), body=body)
    assert Webhook(secret).verify(body, headers) == {"id": "evt_1", "type": "learner.created"}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_standard_signature_matches_the_specifications_published_example():
    # The example of the Standard Webhooks specification: a known answer, independent of any library.
    signature = signing.standard_signature(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330, body=b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_hex_signature_is_hmac_of_raw_body_keyed_by_whole_secret():
    secret = signing.generate_secret()
    body = b'{"a": 1}'
    headers = signing.signature_headers(secrets_=[secret], msg_id="evt_x", timestamp=1, body=body)
    assert headers["X-Skillhub-Signature"] == hex_hmac(secret, body)
    assert headers["X-Skillhub-Signature"] == headers["X-Skillhub-Signature"].lower()


@pytest.mark.parametrize(
    "secret, problem",
    [
        ("plain-text", "must start with whsec_"),
        ("whsec_not base64!", "valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "16 to 64 bytes"),
    ],
)
def test_caller_chosen_secret_must_be_a_whsec_key(secret, problem):
    assert problem in signing.secret_problem(secret)


def test_rotation_signs_with_old_and_new_for_24_hours(tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    old_secret = endpoint.secret
    rotated = endpoint_rotate_secret(endpoint=endpoint)
    assert rotated.secret != old_secret

    make_learner(tenant)
    send_due()

    (request,) = receiver.wait_for(1)
    assert len(request.header("webhook-signature").split(" ")) == 2
    Webhook(old_secret).verify(request.body, request.headers)
    Webhook(rotated.secret).verify(request.body, request.headers)
    assert request.header("X-Skillhub-Signature") == hex_hmac(rotated.secret, request.body)


def test_old_secret_stops_signing_after_the_overlap(tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    old_secret = endpoint.secret
    endpoint_rotate_secret(endpoint=endpoint)
    Endpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=endpoint.previous_secret_expires_at - timedelta(hours=25)
    )

    make_learner(tenant)
    send_due()

    (request,) = receiver.wait_for(1)
    assert len(request.header("webhook-signature").split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(request.body, request.headers)
