"""The check every learner write makes after commit (any parked need in the tenant?) answers the same on both paths."""
from __future__ import annotations

import pytest

from signals_inbox.models import Need, NeedStatus, Target
from signals_inbox.services import rematch
from tests.factories import TenantFactory
from tests.parity import statements_path
from tests.signals_inbox.factories import send_and_resolve

pytestmark = pytest.mark.django_db


def _answers(tenant, other, client, secret) -> list[bool]:
    answers = [rematch.parked_needs_exist(tenant_id=tenant.pk)]
    need = send_and_resolve(client, tenant, secret, external_worker_id="W-404", topic="Working at Heights")
    answers += [rematch.parked_needs_exist(tenant_id=tenant.pk), rematch.parked_needs_exist(tenant_id=str(other.pk))]
    Need.objects.filter(pk=need.pk).update(status=NeedStatus.DISMISSED)  # closed: no longer parked
    answers.append(rematch.parked_needs_exist(tenant_id=tenant.pk))
    Need.objects.filter(pk=need.pk).update(status=NeedStatus.OPEN, target=Target.WORKER)  # matched: not parked
    answers.append(rematch.parked_needs_exist(tenant_id=tenant.pk))
    Need.objects.filter(pk=need.pk).delete()
    return answers


def test_the_check_sees_only_the_tenants_active_unmatched_needs(tenant, client, secret):
    assert _answers(tenant, TenantFactory(), client, secret) == [False, True, False, False, False]


@pytest.mark.postgres
def test_the_prepared_check_and_its_portable_twin_answer_the_same(tenant, client, secret, settings, monkeypatch):
    results = []
    for fast in (True, False):
        with statements_path(settings, monkeypatch, rematch, fast=fast) as uses:
            results.append(_answers(tenant, TenantFactory(), client, secret))
        assert (len(uses) > 0) is fast
    assert results[0] == results[1] == [False, True, False, False, False]
