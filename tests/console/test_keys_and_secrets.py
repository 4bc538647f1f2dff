"""API keys and signal secrets in the console: created and shown once, listed by prefix, revoked, rotated."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tenants.models import ApiKey, SignalSecret
from tenants.selectors import signal_secrets_for_slug
from skillhub.crypto import token_hash as hash_api_key
from tenants.services import api_key_create
from tests.console.factories import PASSWORD, console_user
from tests.factories import TenantFactory, make_api_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant_console(client):  # noqa: ANN001, ANN201
    tenant = TenantFactory(slug="acme")
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    return tenant


def test_a_new_key_is_shown_once_with_a_copy_button_and_only_its_hash_is_kept(client, tenant_console):  # noqa: ANN001
    response = client.post(
        reverse("admin:tenants_apikey_add"),
        {"tenant": str(tenant_console.pk), "name": "HR sync", "role": "admin", "scopes": ["learners:read", "needs:write"]},
    )
    # Post/redirect/get: the secret's page is a GET, so a refresh does not issue a second key.
    assert response.status_code == 302 and "/admin/secret/" in response["Location"]
    response = client.get(response["Location"])
    assert response.status_code == 200
    page = response.content.decode()
    raw = re.search(r'<code id="secret-value">(shk_[^<]+)</code>', page).group(1)
    assert 'data-copy="#secret-value"' in page and "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(tenant=tenant_console)
    assert key.key_hash == hash_api_key(raw) and key.scopes == ["learners:read", "needs:write"]
    listing = client.get(reverse("admin:tenants_apikey_changelist")).content.decode()
    assert f"{raw[:12]}…" in listing and raw not in listing
    assert raw not in client.get(reverse("admin:tenants_apikey_change", args=[key.pk])).content.decode()
    again = client.get(response.request["PATH_INFO"])
    assert again.status_code == 410 and raw not in again.content.decode() and "already been shown" in again.content.decode()
    assert ApiKey.objects.filter(tenant=tenant_console).count() == 1


def test_unknown_scopes_are_a_form_error(client, tenant_console):  # noqa: ANN001
    response = client.post(reverse("admin:tenants_apikey_add"), {"tenant": str(tenant_console.pk), "name": "x", "role": "admin", "scopes": ["root:all"]})
    assert response.status_code == 200
    assert not ApiKey.objects.exists()


def test_revoking_a_key_stops_it_at_once(client, tenant_console):  # noqa: ANN001
    raw = make_api_key(tenant_console)
    key = ApiKey.objects.get()
    assert client.get(f"/api/v1/tenants/{tenant_console.slug}/learners", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    client.post(reverse("admin:tenants_apikey_changelist"), {"action": "revoke", "_selected_action": [str(key.pk)]})
    assert client.get(f"/api/v1/tenants/{tenant_console.slug}/learners", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert "revoked" in client.get(reverse("admin:tenants_apikey_changelist")).content.decode()


def test_another_tenants_key_cannot_be_revoked(client, tenant_console):  # noqa: ANN001
    theirs = api_key_create(tenant=TenantFactory(), name="theirs", role="admin", scopes=[]).api_key
    client.post(reverse("admin:tenants_apikey_changelist"), {"action": "revoke", "_selected_action": [str(theirs.pk)]})
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_rotating_the_signal_secret_shows_it_once_and_the_previous_overlap(client, tenant_console):  # noqa: ANN001
    first = client.post(reverse("admin:tenants_signalsecret_add"), {"tenant": str(tenant_console.pk)}, follow=True)
    first_secret = re.search(r'<code id="secret-value">([^<]+)</code>', first.content.decode()).group(1)
    second = client.post(reverse("admin:tenants_signalsecret_add"), {"tenant": str(tenant_console.pk)}, follow=True)
    page = second.content.decode()
    second_secret = re.search(r'<code id="secret-value">([^<]+)</code>', page).group(1)
    assert "keeps verifying until" in page and f"(sig_{first_secret[4:16]}…)" in page
    assert set(signal_secrets_for_slug(slug=tenant_console.slug)) == {first_secret, second_secret}
    listing = client.get(reverse("admin:tenants_signalsecret_changelist")).content.decode()
    assert "current" in listing and "previous: valid 23 h" in listing
    assert first_secret not in listing and second_secret not in listing
    assert SignalSecret.objects.filter(tenant=tenant_console).count() == 2
