"""A SCIM create attaches the needs parked for its worker, as a REST create does; without any, it asks once."""
from __future__ import annotations

import pytest

from signals_inbox.models import Need, Target
from signals_inbox.services import rematch
from tests.provisioning.conftest import barbara
from tests.signals_inbox.factories import issue_secret, send_and_resolve

pytestmark = pytest.mark.django_db


def test_a_need_parked_for_the_worker_is_attached_when_scim_creates_them(scim_client, client, django_capture_on_commit_callbacks):
    tenant = scim_client.tenant
    need = send_and_resolve(client, tenant, issue_secret(tenant), external_worker_id="701984", topic="Working at Heights")
    assert need.target == Target.UNMATCHED

    with django_capture_on_commit_callbacks(execute=True):
        created = scim_client.post("Users", barbara())

    assert created.status_code == 201, created.content
    need.refresh_from_db()
    assert need.target == Target.WORKER and str(need.learner_id) == created.json()["id"]


def test_a_need_parked_for_someone_else_stays_parked(scim_client, client, django_capture_on_commit_callbacks):
    tenant = scim_client.tenant
    need = send_and_resolve(client, tenant, issue_secret(tenant), external_worker_id="W-404", topic="Working at Heights")

    with django_capture_on_commit_callbacks(execute=True):
        assert scim_client.post("Users", barbara()).status_code == 201

    assert Need.objects.get(pk=need.pk).target == Target.UNMATCHED


def test_without_parked_needs_the_check_after_commit_is_all_a_create_asks(scim_client, django_capture_on_commit_callbacks, monkeypatch):
    asked = []
    real = rematch.parked_needs_exist
    monkeypatch.setattr(rematch, "parked_needs_exist", lambda **kw: asked.append(kw) or real(**kw))
    monkeypatch.setattr(rematch, "learner_get", lambda **kw: pytest.fail("no parked need: the learner is not read back"))

    with django_capture_on_commit_callbacks(execute=True):
        assert scim_client.post("Users", barbara()).status_code == 201

    assert asked == [{"tenant_id": scim_client.tenant.pk}]
