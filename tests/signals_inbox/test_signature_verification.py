"""Signatures: the document's bash recipe is accepted; every near miss is refused and stores nothing."""
from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from signals_inbox.models import Need, RejectedSignal, Signal
from tenants.models import SignalSecret
from tenants.selectors import forget_signal_secrets
from tests.factories import TenantFactory
from tests.signals_inbox.factories import issue_secret, post_signal, sign

pytestmark = pytest.mark.django_db

BODY = '{"event":"signal.credential_expiring","data":{"email":"jordan@acme.com","topic":"Working at Heights"}}'


def _bash_signature(secret: str, body: str) -> str:
    """Sign exactly as document 004's bash example does."""
    script = 'printf \'%s\' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed \'s/^.* //\''
    done = subprocess.run(["bash", "-c", script], env={"BODY": body, "SECRET": secret, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _nothing_stored() -> bool:
    return not Signal.objects.exists() and not Need.objects.exists() and not RejectedSignal.objects.exists()


def test_bash_recipe_signature_is_accepted(client, tenant, secret):
    signature = _bash_signature(secret, BODY)

    response = post_signal(client, tenant.slug, BODY.encode(), signature=signature)

    assert response.status_code == 200, response.content
    assert Signal.objects.filter(pk=response.json()["signalId"]).exists()


def test_python_recipe_signature_is_accepted(client, tenant, secret):
    body = json.dumps({"event": "signal.role_assigned", "data": {"external_worker_id": "W-123", "topic": "Forklift Operation"}})

    response = post_signal(client, tenant.slug, body.encode(), signature=sign(secret, body.encode()))

    assert response.status_code == 200


def test_reserialised_body_is_refused(client, tenant, secret):
    signature = sign(secret, BODY.encode())
    reserialised = json.dumps(json.loads(BODY), indent=1).encode()

    response = post_signal(client, tenant.slug, reserialised, signature=signature)

    assert response.status_code == 401
    assert _nothing_stored()


def test_upper_case_digest_is_refused(client, tenant, secret):
    response = post_signal(client, tenant.slug, BODY.encode(), signature=sign(secret, BODY.encode()).upper())

    assert response.status_code == 401
    assert _nothing_stored()


def test_truncated_digest_is_refused(client, tenant, secret):
    response = post_signal(client, tenant.slug, BODY.encode(), signature=sign(secret, BODY.encode())[:32])

    assert response.status_code == 401
    assert _nothing_stored()


def test_old_secret_works_during_overlap_and_not_after(client, tenant):
    old = issue_secret(tenant)
    issue_secret(tenant)  # rotation: the old one stays valid for 24 hours

    during = post_signal(client, tenant.slug, BODY.encode(), secret=old)
    SignalSecret.objects.filter(tenant=tenant, secret=old).update(valid_until=timezone.now() - timedelta(seconds=1))
    forget_signal_secrets(tenant_slug=tenant.slug)
    from signals_inbox import verification

    verification.forget()
    after = post_signal(client, tenant.slug, b'{"event":"signal.incident","data":{"site":"A","topic":"T"}}', secret=old)

    assert during.status_code == 200
    assert after.status_code == 401
    assert Signal.objects.count() == 1


def test_new_secret_is_accepted_once_the_memo_may_refresh(client, tenant, secret, monkeypatch, django_capture_on_commit_callbacks):
    from signals_inbox import verification

    post_signal(client, tenant.slug, BODY.encode(), secret=secret)  # warms the shared cache and the process memo
    with django_capture_on_commit_callbacks(execute=True):
        new = issue_secret(tenant)
    monkeypatch.setattr(verification, "REFRESH_AFTER", 0.0)

    response = post_signal(client, tenant.slug, b'{"event":"signal.incident","data":{"site":"A","topic":"T"}}', secret=new)

    assert response.status_code == 200


def test_another_tenants_secret_is_refused(client, tenant, secret):
    other = TenantFactory()
    other_secret = issue_secret(other)

    response = post_signal(client, tenant.slug, BODY.encode(), secret=other_secret)

    assert response.status_code == 401
    assert _nothing_stored()


def test_refusals_are_counted_not_stored(client, tenant, secret):
    from signals_inbox.verification import refusal_counts

    post_signal(client, tenant.slug, BODY.encode(), secret=secret)  # the slug is now known to this process
    for _ in range(3):
        post_signal(client, tenant.slug, BODY.encode(), signature="0" * 64)

    assert refusal_counts(slug=tenant.slug)["bad_signature"] == 3
    assert Signal.objects.count() == 1


def test_a_secret_deleted_in_the_admin_stops_verifying_without_waiting_for_the_cache(
    client, admin_client, tenant, django_capture_on_commit_callbacks
):
    kept = issue_secret(tenant)
    issue_secret(tenant)
    withdrawn = SignalSecret.objects.get(tenant=tenant, valid_until__isnull=True)
    post_signal(client, tenant.slug, BODY.encode(), secret=withdrawn.secret)  # fills the shared cache

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/tenants/signalsecret/{withdrawn.pk}/delete/", {"post": "yes"})
    from signals_inbox import verification

    verification.forget()  # this process's two-second memo, as if the next push came a little later
    refused = post_signal(client, tenant.slug, b'{"event":"signal.incident","data":{"site":"B","topic":"T"}}', secret=withdrawn.secret)
    still_valid = post_signal(client, tenant.slug, b'{"event":"signal.incident","data":{"site":"C","topic":"T"}}', secret=kept)

    assert response.status_code == 302
    assert refused.status_code == 401
    assert still_valid.status_code == 200
