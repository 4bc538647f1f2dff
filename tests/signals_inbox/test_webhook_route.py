"""The signal webhook is an ordinary route: only its path answers as the webhook, without session, frame or flood-limit handling."""
from __future__ import annotations

import pytest

from tests.factories import TenantFactory
from tests.signals_inbox.factories import issue_secret, post_signal, signal_body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "is_webhook"),
    [
        ("/api/v1/integration/acme/webhook", True),
        ("/api/v1/integration/acme-2/webhook", True),
        ("/api/v1/integration//webhook", False),
        ("/api/v1/integration/acme/other/webhook", False),
        ("/api/v1/integration/acme/webhook/", False),
        ("/api/v1/tenants/acme/webhook", False),
    ],
)
def test_only_the_webhook_path_is_answered_as_the_webhook(client, path, is_webhook):
    response = client.post(path, b"{}", content_type="application/json")

    if is_webhook:
        assert (response.status_code, response.json()) == (401, {"error": "bad_signature"})
    else:
        assert response.status_code in (404, 405) and "bad_signature" not in response.content.decode()


@pytest.mark.django_db
def test_the_webhook_answers_without_session_or_frame_handling(client):
    tenant = TenantFactory()
    secret = issue_secret(tenant)

    response = post_signal(client, tenant.slug, signal_body(site="Site A", topic="First Aid"), secret=secret)

    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert not response.cookies


@pytest.mark.django_db
def test_a_path_beside_the_webhook_still_goes_through_url_routing(client):
    assert client.post("/api/v1/integration/acme/other/webhook", data=b"{}", content_type="application/json").status_code == 404
    # The console keeps its frame protection.
    assert client.get("/admin/login/").headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_pushes_without_an_api_key_are_not_counted_against_the_anonymous_flood_limit(client, settings):
    settings.ANONYMOUS_API_RATE = "2/m"
    tenant = TenantFactory()
    secret = issue_secret(tenant)

    statuses = [post_signal(client, tenant.slug, signal_body(site="Site A", topic=f"Topic {n}"), secret=secret).status_code for n in range(5)]

    assert statuses == [200] * 5


@pytest.mark.django_db
def test_an_accept_header_the_api_would_refuse_still_gets_the_json_answer(client):
    response = client.post("/api/v1/integration/acme/webhook", b"{}", content_type="application/json", HTTP_ACCEPT="text/html")

    assert (response.status_code, response.json()) == (401, {"error": "bad_signature"})


@pytest.mark.django_db
def test_options_is_refused_in_the_webhook_shape(client):
    response = client.options("/api/v1/integration/acme/webhook")

    assert (response.status_code, response.json(), response["Allow"]) == (405, {"error": "method_not_allowed"}, "POST")
