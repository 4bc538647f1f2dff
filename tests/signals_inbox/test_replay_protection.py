"""Timestamped (Standard Webhooks) signatures: accepted beside the plain one, never twice, never stale;
a tenant can require them, after which a captured plain signature replays nothing."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from signals_inbox.models import Need, SeenWebhookId, Signal
from signals_inbox.services.signing import signal_signing_put
from signals_inbox.sweeps import forget_expired_webhook_ids
from skillhub import localcache
from tests.signals_inbox.factories import post_signal, signal_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/integration/{slug}/webhook"


def _stamped(client, slug: str, body: bytes, secret: str, *, msg_id: str = "msg_1", at: float | None = None, extra=None):  # noqa: ANN001, ANN202
    """POST a body signed the Standard Webhooks way, by the public library, keyed by the secret's UTF-8 bytes."""
    sent_at = datetime.fromtimestamp(time.time() if at is None else at, tz=dt_timezone.utc)
    signature = Webhook(secret.encode()).sign(msg_id=msg_id, timestamp=sent_at, data=body.decode())
    headers = {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(sent_at.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
        **(extra or {}),
    }
    return client.post(URL.format(slug=slug), data=body, content_type="application/json", **headers)


def test_a_signal_signed_by_the_standard_webhooks_library_is_accepted(client, tenant, secret):
    response = _stamped(client, tenant.slug, signal_body(email="a@b.c", topic="Forklift"), secret)

    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True
    assert Signal.objects.count() == 1


def test_plain_python_signing_matches_the_library(client, tenant, secret):
    body = signal_body(email="a@b.c", topic="Forklift")
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"msg_plain.{stamp}.".encode() + body, hashlib.sha256).digest()

    response = client.post(
        URL.format(slug=tenant.slug), data=body, content_type="application/json",
        HTTP_WEBHOOK_ID="msg_plain", HTTP_WEBHOOK_TIMESTAMP=stamp, HTTP_WEBHOOK_SIGNATURE="v1," + base64.b64encode(digest).decode(),
    )

    assert response.status_code == 200, response.content


def test_a_replayed_request_is_refused_and_stores_nothing(client, tenant, secret):
    body = signal_body(email="a@b.c", topic="Forklift")
    first = _stamped(client, tenant.slug, body, secret, msg_id="msg_replay")
    localcache.clear()  # as if the replay reached another web process: the id is remembered in the database

    replays = [_stamped(client, tenant.slug, body, secret, msg_id="msg_replay").status_code for _ in range(5)]

    assert first.status_code == 200
    assert replays == [401] * 5
    assert Signal.objects.count() == 1
    assert "already received" in _stamped(client, tenant.slug, body, secret, msg_id="msg_replay").json()["detail"]


def test_a_replay_of_a_dismissed_needs_signal_does_not_reopen_it(client, tenant, secret):
    from signals_inbox.services import need_dismiss

    body = signal_body(email="a@b.c", topic="Forklift", payload={"n": 1})
    _stamped(client, tenant.slug, body, secret, msg_id="msg_d")
    need_dismiss(need=Need.objects.get(), actor="test", reason="not ours")

    assert _stamped(client, tenant.slug, body, secret, msg_id="msg_d").status_code == 401
    assert not Need.objects.exclude(status="dismissed").exists()


@pytest.mark.parametrize("skew", [-301, 301, -3600, 10**9])
def test_a_timestamp_more_than_five_minutes_away_is_refused(client, tenant, secret, skew):
    response = _stamped(client, tenant.slug, signal_body(site="A", topic="T"), secret, at=max(time.time() + skew, 0))

    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert not Signal.objects.exists() and not SeenWebhookId.objects.exists()


def test_a_timestamp_within_tolerance_is_accepted(client, tenant, secret):
    assert _stamped(client, tenant.slug, signal_body(site="A", topic="T"), secret, msg_id="m1", at=time.time() - 290).status_code == 200
    assert _stamped(client, tenant.slug, signal_body(site="A", topic="T"), secret, msg_id="m2", at=time.time() + 290).status_code == 200


def test_tampering_with_id_timestamp_or_body_is_refused(client, tenant, secret):
    body = signal_body(site="A", topic="T")
    stamp = int(time.time())
    good = Webhook(secret.encode()).sign(msg_id="m", timestamp=datetime.fromtimestamp(stamp, tz=dt_timezone.utc), data=body.decode())
    url = URL.format(slug=tenant.slug)
    cases = [
        ("m2", str(stamp), body),
        ("m", str(stamp - 1), body),
        ("m", str(stamp), body.replace(b'"A"', b'"B"')),
    ]
    answers = [
        client.post(url, data=b, content_type="application/json", HTTP_WEBHOOK_ID=i, HTTP_WEBHOOK_TIMESTAMP=t, HTTP_WEBHOOK_SIGNATURE=good).status_code
        for i, t, b in cases
    ]

    assert answers == [401, 401, 401]
    assert not Signal.objects.exists()


def test_the_secret_as_a_library_string_is_not_the_key(client, tenant, secret):
    # Webhook(str) base64-decodes a whsec_ secret; a signal secret is used as its UTF-8 bytes instead.
    body = signal_body(site="A", topic="T")
    try:
        signature = Webhook(secret).sign(msg_id="m", timestamp=datetime.now(tz=dt_timezone.utc), data=body.decode())
    except Exception:  # noqa: BLE001  (the library may refuse the string outright)
        return
    response = client.post(
        URL.format(slug=tenant.slug), data=body, content_type="application/json",
        HTTP_WEBHOOK_ID="m", HTTP_WEBHOOK_TIMESTAMP=str(int(time.time())), HTTP_WEBHOOK_SIGNATURE=signature,
    )
    assert response.status_code == 401


def test_an_invalid_body_does_not_use_up_its_id(client, tenant, secret):
    bad = _stamped(client, tenant.slug, b'{"event": "signal.x", "data": {}}', secret, msg_id="msg_fix")
    fixed = _stamped(client, tenant.slug, signal_body(site="A", topic="T"), secret, msg_id="msg_fix")

    assert bad.status_code == 400
    assert fixed.status_code == 200


def test_a_tenant_that_requires_timestamps_refuses_the_plain_signature(client, tenant, secret, django_capture_on_commit_callbacks):
    body = signal_body(email="a@b.c", topic="Forklift")
    assert post_signal(client, tenant.slug, body, secret=secret).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        signal_signing_put(tenant=tenant, actor="test", require_timestamped_signatures=True)

    plain = post_signal(client, tenant.slug, body, secret=secret)
    forged = post_signal(client, tenant.slug, body, signature="0" * 64)
    stamped = _stamped(client, tenant.slug, body, secret)

    assert plain.status_code == 401
    assert "timestamped" in plain.json()["detail"]
    assert forged.status_code == 401 and "detail" not in forged.json()
    assert stamped.status_code == 200
    assert Signal.objects.count() == 2


def test_expired_ids_are_swept_and_may_be_taken_again(client, tenant, secret):
    body = signal_body(site="A", topic="T")
    assert _stamped(client, tenant.slug, body, secret, msg_id="old").status_code == 200
    SeenWebhookId.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    again = _stamped(client, tenant.slug, body, secret, msg_id="old")  # taken again before any sweep
    SeenWebhookId.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    swept = forget_expired_webhook_ids()

    assert again.status_code == 200
    assert swept == 1 and not SeenWebhookId.objects.exists()


def test_one_id_is_taken_per_tenant(client, tenant, secret):
    from tests.signals_inbox.factories import TenantFactory, issue_secret

    other = TenantFactory()
    other_secret = issue_secret(other)
    body = signal_body(site="A", topic="T")

    assert _stamped(client, tenant.slug, body, secret, msg_id="shared").status_code == 200
    assert _stamped(client, other.slug, body, other_secret, msg_id="shared").status_code == 200
