"""A secret shown once in the console: post/redirect/get, never cached, never in a cookie, never shown twice.

The POST that creates it answers with a redirect, so refreshing the page that shows it repeats a GET
(nothing is created again); the GET shows it once, and a second visit says it was shown.
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tenants.models import ApiKey, SignalSecret, StaffToken
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):  # noqa: ANN001, ANN201
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def _cookies_text(response) -> str:  # noqa: ANN001
    return " ".join(morsel.OutputString() for morsel in response.cookies.values())


def shown_once(client, response, secret_of) -> str:  # noqa: ANN001
    """Follow the redirect of a creating POST: the secret is on that page once, then never again."""
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert "/admin/secret/" in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    secret = secret_of()
    assert secret in page.content.decode()
    for answer in (response, page):
        assert "messages" not in answer.cookies and secret not in _cookies_text(answer)
    refreshed = client.get(response["Location"])
    assert refreshed.status_code == 410 and secret not in refreshed.content.decode()
    assert "already been shown" in refreshed.content.decode()
    return secret


def test_a_new_api_key(staff):
    tenant = TenantFactory()
    response = staff.post("/admin/tenants/apikey/add/", {"tenant": tenant.pk, "name": "ci", "role": "admin", "scopes": ["learners:read"]})
    shown_once(staff, response, lambda: ApiKey.objects.get(name="ci").prefix)
    assert ApiKey.objects.filter(tenant=tenant).count() == 1


def test_a_new_signal_secret(staff):
    tenant = TenantFactory()
    response = staff.post("/admin/tenants/signalsecret/add/", {"tenant": tenant.pk})
    shown_once(staff, response, lambda: SignalSecret.objects.get(tenant=tenant).secret)
    assert SignalSecret.objects.filter(tenant=tenant).count() == 1


def test_a_new_signal_secret_from_the_tenant_action(staff):
    tenant = TenantFactory()
    response = staff.post("/admin/tenants/tenant/", {"action": "issue_signal_secret", "_selected_action": [tenant.pk]})
    shown_once(staff, response, lambda: SignalSecret.objects.get(tenant=tenant).secret)


def test_a_new_staff_token(staff):
    user = get_user_model().objects.get(username="root")
    response = staff.post("/admin/tenants/stafftoken/add/", {"user": user.pk, "name": "ops"})
    shown_once(staff, response, lambda: StaffToken.objects.get(name="ops").prefix)
    assert StaffToken.objects.filter(name="ops").count() == 1


def test_another_sessions_handle_shows_nothing(staff, client):  # noqa: ANN001
    tenant = TenantFactory()
    response = staff.post("/admin/tenants/signalsecret/add/", {"tenant": tenant.pk})
    other = get_user_model().objects.create_superuser("other", "other@example.com", "pw-for-tests-only")
    from django.test import Client

    stranger = Client()
    stranger.force_login(other)
    assert stranger.get(response["Location"]).status_code == 410
