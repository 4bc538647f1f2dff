"""A secret shown once in the console is on the answering page itself (never cached), never in a cookie."""
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
        "/admin/tenants/apikey/add/", {"tenant": tenant.pk, "name": "ci", "role": "admin", "scopes": ["learners:read"]}
    )

    assert response.status_code == 200, response.content.decode()[-2000:]
    page = response.content.decode()
    raw = next(word for word in page.replace('"', " ").replace("<", " ").replace(">", " ").split() if word.startswith("shk_"))
    assert raw.startswith(ApiKey.objects.get(name="ci").prefix) and len(raw) > 20  # the whole key, once
    assert "no-store" in response["Cache-Control"]
    assert "messages" not in response.cookies and raw not in _cookies_text(response)


def test_a_new_signal_secret_is_shown_but_not_put_in_a_cookie(staff):
    tenant = TenantFactory()

    response = staff.post("/admin/tenants/signalsecret/add/", {"tenant": tenant.pk})

    assert response.status_code == 200, response.content.decode()[-2000:]
    secret = SignalSecret.objects.get(tenant=tenant).secret
    assert secret in response.content.decode()
    assert "messages" not in response.cookies and secret not in _cookies_text(response)


def test_a_new_staff_token_is_shown_but_not_put_in_a_cookie(staff):
    from tenants.models import StaffToken

    user = get_user_model().objects.get(username="root")

    response = staff.post("/admin/tenants/stafftoken/add/", {"user": user.pk, "name": "ops"})

    assert response.status_code == 200, response.content.decode()[-2000:]
    prefix = StaffToken.objects.get(name="ops").prefix
    assert prefix in response.content.decode()
    assert "messages" not in response.cookies and prefix not in _cookies_text(response)
