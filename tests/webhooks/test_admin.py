"""The webhook admin: pages render, and its writes and actions go through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.webhooks.helpers import make_endpoint, make_learner, send_due
from webhooks.models import Delivery, DeliveryState, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_endpoint_delivery_and_event_pages_render(staff, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    make_learner(tenant)
    send_due()
    delivery = Delivery.objects.get()
    for url in (
        "/admin/webhooks/endpoint/",
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        "/admin/webhooks/endpoint/add/",
        "/admin/webhooks/delivery/",
        f"/admin/webhooks/delivery/{delivery.pk}/change/",
        "/admin/webhooks/event/",
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
    page = staff.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert delivery.pk in page and endpoint.secret not in page


def test_admin_create_goes_through_the_service_and_shows_the_secret_once(staff, tenant, receiver, allow_private):
    response = staff.post(
        "/admin/webhooks/endpoint/add/",
        {
            "tenant": tenant.pk,
            "url": receiver.url,
            "enabled": "on",
            "payload_style": "full",
            "retry_policy": "standard",
            "additional_headers": "{}",
            "description": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()


def test_admin_refuses_a_private_target_as_a_form_error(staff, tenant):
    response = staff.post(
        "/admin/webhooks/endpoint/add/",
        {
            "tenant": tenant.pk,
            "url": "https://10.0.0.1/x",
            "payload_style": "full",
            "retry_policy": "standard",
            "additional_headers": "{}",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "private address" in response.content.decode()
    assert Endpoint.objects.count() == 0


def test_admin_actions_ping_rotate_and_re_enable(staff, tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    old_secret = endpoint.secret
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, deactivate_reason="5 attempts failed")

    for action in ("ping", "re_enable"):
        response = staff.post(
            "/admin/webhooks/endpoint/", {"action": action, "_selected_action": [endpoint.pk]}, follow=True
        )
        assert response.status_code == 200
    rotated = staff.post(f"/admin/webhooks/endpoint/{endpoint.pk}/rotate-secret/", follow=True)
    assert rotated.status_code == 200

    send_due()  # the queued ping
    endpoint.refresh_from_db()
    assert len(receiver.wait_for(1)) == 1
    assert endpoint.secret != old_secret and endpoint.previous_secret == old_secret
    assert endpoint.enabled and endpoint.deactivate_reason == ""


def test_admin_retry_action_restarts_a_failed_delivery(staff, tenant, receiver, allow_private):
    make_endpoint(tenant, receiver.url)
    make_learner(tenant)
    Delivery.objects.update(state=DeliveryState.FAILED, next_attempt_at=None)
    delivery = Delivery.objects.get()

    staff.post("/admin/webhooks/delivery/", {"action": "retry", "_selected_action": [delivery.pk]})

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.next_attempt_at is not None
