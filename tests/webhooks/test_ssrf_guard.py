"""The SSRF guard: https and public addresses only, at creation and again at delivery, address pinned."""

from __future__ import annotations

import pytest

from tests.webhooks.helpers import make_endpoint, make_learner
from webhooks.engine import transport
from webhooks.engine.delivery import send as send_delivery
from webhooks.models import Delivery, DeliveryState

pytestmark = pytest.mark.django_db

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:4700:4700::1111"

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.10.10", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::1", "loopback"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fe80::1", "link-local"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:93.184.215.14", "IPv4-mapped"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
]


@pytest.mark.parametrize("address, label", REFUSED)
def test_each_refused_address_class_is_named(address, label):
    assert label in transport.address_problem(address)


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6, "8.8.8.8"])
def test_public_addresses_pass(address):
    assert transport.address_problem(address) is None


@pytest.mark.parametrize("address, label", REFUSED)
def test_create_refuses_a_literal_non_public_address(api, address, label):
    host = f"[{address}]" if ":" in address else address
    response = api.post(f"/api/v1/tenants/{api.tenant.slug}/webhooks", {"url": f"https://{host}/hook"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == "url"
    assert label in error["details"]["reason"]


def test_create_refuses_a_hostname_that_resolves_to_a_private_address(api, fake_dns):
    fake_dns["hooks.example.test"] = ["10.0.0.7"]
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/webhooks", {"url": "https://hooks.example.test/x"}, format="json"
    )
    assert response.status_code == 400
    assert "private" in response.json()["error"]["details"]["reason"]


def test_create_refuses_when_any_answer_is_private(api, fake_dns):
    fake_dns["mixed.example.test"] = [PUBLIC_V4, "127.0.0.1"]
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/webhooks", {"url": "https://mixed.example.test/x"}, format="json"
    )
    assert response.status_code == 400


def test_update_to_a_private_target_is_refused(api, fake_dns):
    fake_dns["ok.example.test"] = [PUBLIC_V4]
    created = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/webhooks", {"url": "https://ok.example.test/x"}, format="json"
    )
    assert created.status_code == 201
    response = api.patch(
        f"/api/v1/tenants/{api.tenant.slug}/webhooks/{created.json()['id']}",
        {"url": "https://169.254.169.254/latest"},
        format="json",
    )
    assert response.status_code == 400
    assert "metadata" in response.json()["error"]["details"]["reason"]


@pytest.mark.parametrize(
    "url, reason",
    [
        (f"http://{PUBLIC_V4}/hook", "must use https"),
        ("ftp://example.com/x", "must use https"),
        ("https:///nohost", "must name a host"),
        (f"https://user:pw@{PUBLIC_V4}/x", "must not carry credentials"),
        ("not a url", "must use https"),
        ("https://nonexistent.invalid/x", "does not resolve"),
    ],
)
def test_create_refuses_malformed_or_plain_http_targets(api, url, reason):
    response = api.post(f"/api/v1/tenants/{api.tenant.slug}/webhooks", {"url": url}, format="json")
    assert response.status_code == 400
    assert reason in response.json()["error"]["details"]["reason"]


def test_create_accepts_a_public_https_target(api, fake_dns):
    fake_dns["hooks.example.test"] = [PUBLIC_V4]
    response = api.post(
        f"/api/v1/tenants/{api.tenant.slug}/webhooks", {"url": "https://hooks.example.test/x"}, format="json"
    )
    assert response.status_code == 201


def test_delivery_is_refused_when_the_host_now_resolves_to_a_private_address(tenant, receiver, fake_dns):
    fake_dns["rebind.example.test"] = [PUBLIC_V4]
    make_endpoint(tenant, f"https://rebind.example.test:{receiver.port}/hooks")
    fake_dns["rebind.example.test"] = ["127.0.0.1"]  # DNS rebinding: the receiver listens there
    make_learner(tenant)

    attempt = send_delivery(delivery_id=Delivery.objects.get().pk)

    assert attempt.status_code is None
    assert attempt.error.startswith("refused:") and "loopback" in attempt.error
    assert receiver.requests == []
    assert Delivery.objects.get().state == DeliveryState.PENDING  # retried on the schedule


def test_connection_goes_to_the_checked_address_with_the_host_name_kept(tenant, receiver, allow_private, fake_dns):
    # The name exists only in the guard's answer: the request can only arrive if the pin is used.
    fake_dns["pinned.example.test"] = ["127.0.0.1"]
    make_endpoint(tenant, f"http://pinned.example.test:{receiver.port}/hooks")
    make_learner(tenant)

    attempt = send_delivery(delivery_id=Delivery.objects.get().pk)

    assert attempt.succeeded
    (request,) = receiver.wait_for(1)
    assert request.header("Host") == f"pinned.example.test:{receiver.port}"


def test_plain_http_is_allowed_only_with_private_targets_on(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    assert transport.url_problem("http://127.0.0.1/x") == "must use https"
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    assert transport.url_problem("http://127.0.0.1/x") is None
