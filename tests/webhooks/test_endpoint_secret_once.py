"""An endpoint's signing secret, new or rotated, is shown once after a redirect: a refresh creates nothing."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.factories import TenantFactory
from tests.skillhub.test_console_secrets_not_in_cookies import shown_once
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):  # noqa: ANN001, ANN201
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_a_new_endpoint_and_a_rotated_secret(staff, receiver, allow_private):  # noqa: ANN001
    tenant = TenantFactory()
    form = {"tenant": tenant.pk, "url": receiver.url, "enabled": "on", "payload_style": "full", "retry_policy": "standard", "additional_headers": "{}"}
    shown_once(staff, staff.post("/admin/webhooks/endpoint/add/", form), lambda: Endpoint.objects.get().secret)
    assert Endpoint.objects.count() == 1
    endpoint = Endpoint.objects.get()
    shown_once(staff, staff.post(f"/admin/webhooks/endpoint/{endpoint.pk}/rotate-secret/"), lambda: Endpoint.objects.get().secret)


