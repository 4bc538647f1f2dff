"""A secret shown once in the console travels in the server-side session, never in a cookie."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tenants.models import ApiKey, SignalSecret
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):  # noqa: ANN001, ANN201
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def _cookies_text(response) -> str:  # noqa: ANN001
    return " ".join(morsel.OutputString() for morsel in response.cookies.values())


def test_a_new_api_key_is_shown_but_not_put_in_a_cookie(staff):
    tenant = TenantFactory()

    response = staff.post(
        "/admin/tenants/apikey/add/", {"tenant": tenant.pk, "name": "ci", "role": "admin", "scopes": "[]"}
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert "messages" not in response.cookies
    page = staff.get(response["Location"])
    prefix = ApiKey.objects.get(name="ci").prefix
    assert prefix in page.content.decode()  # the whole key is on the page that follows
    assert "messages" not in page.cookies and prefix not in _cookies_text(page)


def test_a_new_signal_secret_is_shown_but_not_put_in_a_cookie(staff):
    tenant = TenantFactory()

    response = staff.post("/admin/tenants/signalsecret/add/", {"tenant": tenant.pk})

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert "messages" not in response.cookies
    secret = SignalSecret.objects.get(tenant=tenant).secret
    assert secret in staff.get(response["Location"]).content.decode()


def test_a_new_staff_token_is_shown_but_not_put_in_a_cookie(staff):
    from tenants.models import StaffToken

    user = get_user_model().objects.get(username="root")

    response = staff.post("/admin/tenants/stafftoken/add/", {"user": user.pk, "name": "ops"})

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert "messages" not in response.cookies
    prefix = StaffToken.objects.get(name="ops").prefix
    assert prefix in staff.get(response["Location"]).content.decode()
