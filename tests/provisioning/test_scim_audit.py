"""SCIM writes land in the audit log under the SCIM actor, never the REST one."""
from __future__ import annotations

import pytest

from tenants.models import AuditEvent
from tests.provisioning.conftest import barbara

pytestmark = pytest.mark.django_db


def test_a_scim_create_and_deactivation_are_audited_as_the_scim_key(scim_client):
    created = scim_client.post("Users", barbara()).json()
    scim_client.patch(f"Users/{created['id']}", [{"op": "replace", "value": {"active": False}}])

    events = AuditEvent.objects.filter(tenant=scim_client.tenant, object_type="learner", object_id=created["id"]).order_by("id")
    assert [event.action for event in events][:1] == ["created"]
    assert len(events) >= 2
    assert {event.actor_kind for event in events} == {"scim"}
    assert all(event.actor.startswith("scim:shk_") for event in events)
