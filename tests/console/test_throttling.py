"""Anonymous /api/ floods get 429 (console sign-in throttling: test_login_lockout.py)."""
from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.factories import TenantFactory, make_api_key

pytestmark = pytest.mark.django_db


@override_settings(ANONYMOUS_API_RATE="5/m")
def test_anonymous_api_flood_is_refused_per_address_but_keys_and_other_addresses_pass():
    tenant = TenantFactory()
    key = make_api_key(tenant)
    client = Client()
    answers = [client.get("/api/v1/event-types", REMOTE_ADDR="203.0.113.50").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    refused = client.get("/api/v1/event-types", REMOTE_ADDR="203.0.113.50")
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused["Retry-After"]) >= 1
    assert client.get("/api/v1/event-types", REMOTE_ADDR="203.0.113.51").status_code == 200
    with_key = client.get(f"/api/v1/tenants/{tenant.slug}/learners", REMOTE_ADDR="203.0.113.50", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert with_key.status_code == 200


def test_a_request_without_a_client_address_is_counted_not_refused_with_an_error():
    client = Client()
    response = client.get("/api/v1/event-types", REMOTE_ADDR="")
    assert response.status_code == 200
