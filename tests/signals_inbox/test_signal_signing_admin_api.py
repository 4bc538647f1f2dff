"""The admin API's signal-signing settings: read them, require timestamps (audited), refuse bad input and API keys."""
from __future__ import annotations

import pytest

from signals_inbox.models import AuditEntry, InboxSettings
from tenants.services import membership_grant
from tests.factories import TenantFactory, make_api_key
from tests.signals_inbox.factories import issue_secret, post_signal, signal_body
from tests.signals_inbox.test_signal_map_admin_api import _staff, _token_client

pytestmark = pytest.mark.django_db


def _url(tenant) -> str:  # noqa: ANN001
    return f"/api/v1/admin/tenants/{tenant.slug}/signal-signing"


def test_read_shows_the_setting_and_the_two_secrets_that_verify_never_their_values(tenant):
    old, current = issue_secret(tenant), issue_secret(tenant)
    issue_secret(tenant)

    body = _token_client(_staff(tenant)).get(_url(tenant)).json()

    assert body["requireTimestampedSignatures"] is False and body["timestampToleranceSeconds"] == 300
    assert len(body["secrets"]) == 2
    assert body["secrets"][0]["validUntil"] is None and body["secrets"][1]["validUntil"] is not None
    assert old not in str(body) and current not in str(body)


def test_requiring_timestamps_applies_at_once_and_is_audited(client, tenant, django_capture_on_commit_callbacks):
    secret = issue_secret(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = _token_client(_staff(tenant)).put(_url(tenant), {"requireTimestampedSignatures": True}, format="json")

    assert response.status_code == 200 and response.json()["requireTimestampedSignatures"] is True
    assert InboxSettings.objects.get(tenant=tenant).require_timestamped_signatures is True
    assert AuditEntry.objects.filter(tenant=tenant, action="signal_signing_changed").exists()
    assert post_signal(client, tenant.slug, signal_body(site="A", topic="T"), secret=secret).status_code == 401


@pytest.mark.parametrize("body", [{"requireTimestampedSignatures": "yes"}, {}, {"requireTimestampedSignatures": True, "other": 1}])
def test_bad_input_is_a_400_and_changes_nothing(tenant, body):
    response = _token_client(_staff(tenant)).put(_url(tenant), body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not InboxSettings.objects.filter(tenant=tenant, require_timestamped_signatures=True).exists()


def test_a_viewer_reads_but_may_not_change(tenant):
    viewer = _staff(tenant, member=False, username="viewer")
    membership_grant(tenant=tenant, user=viewer, role="viewer")
    client = _token_client(viewer)

    assert client.get(_url(tenant)).status_code == 200
    assert client.put(_url(tenant), {"requireTimestampedSignatures": True}, format="json").status_code == 403


def test_api_keys_and_other_tenants_staff_are_refused(tenant):
    from rest_framework.test import APIClient

    key_client = APIClient()
    key_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}")
    stranger = _token_client(_staff(TenantFactory(), username="stranger"))

    assert key_client.get(_url(tenant)).status_code == 401
    assert stranger.get(_url(tenant)).status_code == 404
