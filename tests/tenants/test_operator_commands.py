"""The operator commands of SPEC section 5."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tenants.models import ApiKey, SignalSecret, Tenant
from tenants.selectors import signal_secrets_for_slug
from skillhub.crypto import token_hash

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_create_tenant_is_idempotent():
    _run("create_tenant", "acme", "--name", "Acme", "--plan", "standard")
    _run("create_tenant", "acme", "--name", "Acme again")
    tenant = Tenant.objects.get(slug="acme")
    assert Tenant.objects.count() == 1
    assert tenant.name == "Acme"
    assert tenant.plan == "standard"


def test_create_api_key_prints_a_working_key_alone_on_the_last_line():
    _run("create_tenant", "acme", "--name", "Acme")
    output = _run("create_api_key", "acme", "--name", "HR sync", "--role", "facilitator", "--scopes", "learners:read,learners:write")
    key = output.strip().splitlines()[-1]
    assert key.startswith("shk_") and len(key) > 40
    stored = ApiKey.objects.get()
    assert stored.key_hash == token_hash(key) and key not in (stored.key_hash, stored.prefix)
    assert stored.prefix == key[:12]
    assert stored.scopes == ["learners:read", "learners:write"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/tenants/acme/learners").status_code == 200


def test_create_api_key_refuses_unknown_scopes_and_roles():
    _run("create_tenant", "acme", "--name", "Acme")
    with pytest.raises(CommandError, match="unknown scopes"):
        _run("create_api_key", "acme", "--name", "x", "--role", "admin", "--scopes", "learners:delete")
    with pytest.raises(CommandError, match="role"):
        _run("create_api_key", "acme", "--name", "x", "--role", "owner", "--scopes", "learners:read")
    assert ApiKey.objects.count() == 0


def test_create_api_key_with_expiry():
    _run("create_tenant", "acme", "--name", "Acme")
    _run("create_api_key", "acme", "--name", "x", "--role", "viewer", "--scopes", "learners:read", "--expires-at", "2099-12-31")
    assert ApiKey.objects.get().expires_at.year == 2099
    with pytest.raises(CommandError):
        _run("create_api_key", "acme", "--name", "x", "--role", "viewer", "--scopes", "learners:read", "--expires-at", "2001-01-01")


def test_issue_signal_secret_keeps_the_previous_one_for_24_hours():
    _run("create_tenant", "acme", "--name", "Acme")
    first = _run("issue_signal_secret", "acme").strip().splitlines()[-1]
    second = _run("issue_signal_secret", "acme").strip().splitlines()[-1]
    assert first != second
    assert set(signal_secrets_for_slug(slug="acme")) == {first, second}
    old = SignalSecret.objects.get(secret=first)
    assert old.valid_until is not None
    assert 23.9 * 3600 < (old.valid_until - old.created_at).total_seconds() < 24.1 * 3600 + 5
    assert SignalSecret.objects.get(secret=second).valid_until is None


def test_expired_signal_secret_stops_verifying():
    _run("create_tenant", "acme", "--name", "Acme")
    first = _run("issue_signal_secret", "acme").strip().splitlines()[-1]
    second = _run("issue_signal_secret", "acme").strip().splitlines()[-1]
    from django.utils import timezone

    SignalSecret.objects.filter(secret=first).update(valid_until=timezone.now())
    from tenants.selectors import forget_signal_secrets

    forget_signal_secrets(tenant_slug="acme")
    assert signal_secrets_for_slug(slug="acme") == [second]


def test_commands_refuse_unknown_tenants():
    with pytest.raises(CommandError):
        _run("issue_signal_secret", "ghost")
    with pytest.raises(CommandError):
        _run("create_api_key", "ghost", "--name", "x", "--role", "admin", "--scopes", "learners:read")


def test_seed_demo_prints_working_credentials(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    output = _run("seed_demo", "--learners", "5")
    lines = {line.split()[0] + " " + line.split()[1]: line for line in output.splitlines() if line.startswith("  ")}
    api_key = lines["API key"].split()[-1]
    assert "password:" in lines["admin login"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    body = client.get("/api/v1/tenants/demo/learners").json()
    assert body["pagination"]["total"] >= 5
    secret = lines["signal secret"].split()[-1]
    assert secret in signal_secrets_for_slug(slug="demo")
    # Running it again keeps the same credentials working.
    again = _run("seed_demo", "--learners", "5")
    assert api_key in again
