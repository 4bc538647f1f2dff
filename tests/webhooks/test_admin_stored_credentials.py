"""The endpoint change page never renders a stored Basic-auth password or additional header value."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.webhooks.helpers import make_endpoint
from webhooks.models import Endpoint
from webhooks.selectors import MASKED

pytestmark = pytest.mark.django_db

PASSWORD = "basic-pw-Zq81-do-not-render"
TOKEN = "client-secret-Xy77-do-not-render"


@pytest.fixture
def staff(client):  # noqa: ANN001, ANN201
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.fixture
def endpoint(tenant, receiver, allow_private):  # noqa: ANN001, ANN201
    created = make_endpoint(tenant, receiver.url)
    Endpoint.objects.filter(pk=created.pk).update(
        basic_auth_username="hooks", basic_auth_password=PASSWORD, additional_headers={"X-Client-Secret": TOKEN}
    )
    return Endpoint.objects.get(pk=created.pk)


def _form(endpoint: Endpoint, **changes: str) -> dict:
    data = {
        "url": endpoint.url,
        "enabled": "on",
        "payload_style": "full",
        "retry_policy": "standard",
        "basic_auth_username": "hooks",
        "basic_auth_password": "",
        "additional_headers": f'{{"X-Client-Secret": "{MASKED}"}}',
        "description": "",
        # The deliveries inline's management form (it lists deliveries, it changes none).
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_change_page_masks_the_password_and_header_values(staff, endpoint):
    page = staff.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()

    assert PASSWORD not in page
    assert TOKEN not in page
    assert "X-Client-Secret" in page and MASKED in page


def test_saving_the_page_unchanged_keeps_the_stored_credentials(staff, endpoint):
    response = staff.post(f"/admin/webhooks/endpoint/{endpoint.pk}/change/", _form(endpoint, description="edited"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert endpoint.description == "edited"
    assert endpoint.basic_auth_password == PASSWORD
    assert endpoint.additional_headers == {"X-Client-Secret": TOKEN}


def test_a_new_password_or_header_value_replaces_the_stored_one(staff, endpoint):
    staff.post(
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        _form(endpoint, basic_auth_password="new-pw", additional_headers='{"X-Client-Secret": "new-token"}'),
    )

    endpoint.refresh_from_db()
    assert endpoint.basic_auth_password == "new-pw"
    assert endpoint.additional_headers == {"X-Client-Secret": "new-token"}


def test_the_stored_password_can_be_removed(staff, endpoint):
    staff.post(f"/admin/webhooks/endpoint/{endpoint.pk}/change/", _form(endpoint, clear_basic_auth_password="on"))

    endpoint.refresh_from_db()
    assert endpoint.basic_auth_password == ""


def test_a_new_endpoint_secret_is_shown_but_not_put_in_a_cookie(staff, tenant, receiver, allow_private):
    response = staff.post(
        "/admin/webhooks/endpoint/add/",
        {
            "tenant": tenant.pk,
            "url": receiver.url,
            "enabled": "on",
            "payload_style": "full",
            "retry_policy": "standard",
            "additional_headers": "{}",
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    shown = staff.get(response["Location"])  # post/redirect/get: shown once, on the page the POST redirects to
    secret = Endpoint.objects.get().secret
    assert secret in shown.content.decode()
    for answer in (response, shown):
        assert "messages" not in answer.cookies
        assert all(secret not in morsel.OutputString() for morsel in answer.cookies.values())
