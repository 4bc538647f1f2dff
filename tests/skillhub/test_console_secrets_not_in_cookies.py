"""A secret shown once in the console is on the page itself or in the server-side session, never in a cookie."""
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


def _shown_page(staff, response):  # noqa: ANN001, ANN202
    """The page that shows the new secret: the answer itself, or the one it redirects to."""
    assert response.status_code in (200, 302), response.content.decode()[-2000:]
    return response if response.status_code == 200 else staff.get(response["Location"])


def _assert_not_in_cookies(text: str, *responses) -> None:  # noqa: ANN002
    for response in responses:
        assert "messages" not in response.cookies
        assert text not in " ".join(morsel.OutputString() for morsel in response.cookies.values())


def test_a_new_api_key_is_shown_but_not_put_in_a_cookie(staff):
    tenant = TenantFactory()

    response = staff.post(
        "/admin/tenants/apikey/add/", {"tenant": tenant.pk, "name": "ci", "role": "admin"}
    )

    page = _shown_page(staff, response)
    prefix = ApiKey.objects.get(name="ci").prefix
    assert prefix in page.content.decode()  # the whole key is on the page
    _assert_not_in_cookies(prefix, response, page)


def test_a_new_signal_secret_is_shown_but_not_put_in_a_cookie(staff):
    tenant = TenantFactory()

    response = staff.post("/admin/tenants/signalsecret/add/", {"tenant": tenant.pk})

    page = _shown_page(staff, response)
    secret = SignalSecret.objects.get(tenant=tenant).secret
    assert secret in page.content.decode()
    _assert_not_in_cookies(secret, response, page)


def test_a_new_staff_token_is_shown_but_not_put_in_a_cookie(staff):
    user = get_user_model().objects.get(username="root")

    response = staff.post("/admin/tenants/stafftoken/add/", {"user": user.pk, "name": "ops"})

    page = _shown_page(staff, response)
    prefix = StaffToken.objects.get(name="ops").prefix
    assert prefix in page.content.decode()
    _assert_not_in_cookies(prefix, response, page)
