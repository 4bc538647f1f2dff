"""Every management route treats another tenant's endpoints and deliveries as not found."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import TenantFactory, make_api_key
from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

ROUTES = [
    ("get", "/webhooks/{endpoint}"),
    ("put", "/webhooks/{endpoint}"),
    ("patch", "/webhooks/{endpoint}"),
    ("delete", "/webhooks/{endpoint}"),
    ("post", "/webhooks/{endpoint}/ping"),
    ("post", "/webhooks/{endpoint}/rotate-secret"),
    ("get", "/webhooks/{endpoint}/deliveries"),
    ("post", "/webhooks/{endpoint}/replay"),
    ("get", "/webhooks/deliveries/{delivery}"),
    ("post", "/webhooks/deliveries/{delivery}/retry"),
]


@pytest.fixture
def victim(receiver, allow_private):
    tenant = TenantFactory()
    endpoint = make_endpoint(tenant, receiver.url)
    make_learner(tenant)
    return tenant, endpoint, Delivery.objects.get(endpoint=endpoint)


@pytest.mark.parametrize("method, route", ROUTES)
def test_another_tenants_objects_are_not_found_with_own_slug(api, victim, receiver, method, route):
    _, endpoint, delivery = victim
    path = f"/api/v1/tenants/{api.tenant.slug}" + route.format(endpoint=endpoint.pk, delivery=delivery.pk)
    # A read takes no body (and refuses query parameters it does not declare).
    body = None if method == "get" else {"since": "2020-01-01T00:00:00Z", "url": receiver.url}

    response = getattr(api, method)(path, body, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.url == receiver.url
    assert receiver.requests == []


@pytest.mark.parametrize("method, route", ROUTES + [("get", "/webhooks"), ("post", "/webhooks")])
def test_a_key_used_on_another_tenants_slug_is_not_found(api, victim, receiver, method, route):
    tenant, endpoint, delivery = victim
    path = f"/api/v1/tenants/{tenant.slug}" + route.format(endpoint=endpoint.pk, delivery=delivery.pk)

    response = getattr(api, method)(path, {"since": "2020-01-01T00:00:00Z", "url": receiver.url}, format="json")

    assert response.status_code == 404
    assert Endpoint.objects.filter(tenant=tenant).count() == 1
    assert receiver.requests == []


def test_list_shows_only_own_endpoints(api, victim, receiver):
    own = make_endpoint(api.tenant, receiver.url)
    assert [item["id"] for item in api.get(f"/api/v1/tenants/{api.tenant.slug}/webhooks").json()["data"]] == [own.pk]


def test_events_fan_out_only_to_the_own_tenants_endpoints(api, victim, receiver):
    other_tenant, other_endpoint, _ = victim
    own = make_endpoint(api.tenant, receiver.url)

    make_learner(api.tenant, 7)

    assert Delivery.objects.filter(endpoint=own).count() == 1
    assert Delivery.objects.filter(endpoint=other_endpoint).count() == 1  # only its own learner's


def test_victim_key_still_works_for_its_own_tenant(victim):
    tenant, endpoint, _ = victim
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}")
    assert client.get(f"/api/v1/tenants/{tenant.slug}/webhooks/{endpoint.pk}").status_code == 200
