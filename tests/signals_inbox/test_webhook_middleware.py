"""The signal webhook is answered before the browser middleware; every other path is untouched."""
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
