"""Console logins lock after 10 failures per user or address; anonymous /api/ floods get 429."""
from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.console.factories import PASSWORD, console_user
from tests.factories import TenantFactory, make_api_key

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, address: str):  # noqa: ANN202
    return client.post(reverse("admin:login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_eleventh_try_is_refused_even_with_the_right_password_and_another_user_is_unaffected():
    tenant = TenantFactory()
    console_user(tenant, "target")
    console_user(tenant, "bystander")
    attacker = Client()
    for _ in range(10):
        assert _login(attacker, "target", "wrong-password", "203.0.113.7").status_code == 200
    refused = _login(attacker, "target", PASSWORD, "203.0.113.7")
    assert refused.status_code == 429
    assert b"Too many failed sign-in attempts" in refused.content
    assert "_auth_user_id" not in attacker.session
    bystander = Client()
    assert _login(bystander, "bystander", PASSWORD, "198.51.100.4").status_code == 302
    assert "_auth_user_id" in bystander.session


def test_failures_from_many_addresses_still_lock_the_username():
    tenant = TenantFactory()
    console_user(tenant, "target")
    for index in range(10):
        _login(Client(), "TARGET", "wrong-password", f"192.0.2.{index + 1}")
    assert _login(Client(), "target", PASSWORD, "192.0.2.200").status_code == 429


def test_one_address_failing_on_many_usernames_is_locked():
    for index in range(10):
        _login(Client(), f"nobody{index}", "wrong-password", "203.0.113.9")
    assert _login(Client(), "someone-else", "whatever", "203.0.113.9").status_code == 429


def test_successful_logins_do_not_count():
    tenant = TenantFactory()
    console_user(tenant, "regular")
    for _ in range(12):
        client = Client()
        assert _login(client, "regular", PASSWORD, "203.0.113.20").status_code == 302


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
    assert client.post(reverse("admin:login"), {"username": "x", "password": "y"}, REMOTE_ADDR="").status_code == 200
