"""Learner list filters for incremental sync and lookups."""
from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from learning.models import Learner
from tenants.services import group_create, site_get_or_create
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


def _ids(api, query: str) -> list[str]:
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/learners{query}")
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["data"]]


def test_updated_since_returns_only_recent_changes(api):
    old = LearnerFactory(tenant=api.tenant)
    Learner.objects.filter(pk=old.pk).update(updated_at=timezone.now() - datetime.timedelta(days=2))
    fresh = LearnerFactory(tenant=api.tenant)
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert _ids(api, f"?updatedSince={since}") == [str(fresh.pk)]


def test_filter_by_email_is_case_insensitive(api):
    target = LearnerFactory(tenant=api.tenant, email="jordan@acme.com")
    LearnerFactory(tenant=api.tenant)
    assert _ids(api, "?email=Jordan@ACME.com") == [str(target.pk)]


def test_filter_by_external_worker_id(api):
    target = LearnerFactory(tenant=api.tenant, external_worker_id="W-123")
    LearnerFactory(tenant=api.tenant)
    assert _ids(api, "?externalWorkerId=W-123") == [str(target.pk)]


def test_filter_by_site_and_status(api):
    site = site_get_or_create(tenant=api.tenant, name="Site A")
    target = LearnerFactory(tenant=api.tenant, site=site, status="inactive")
    LearnerFactory(tenant=api.tenant, site=site)
    LearnerFactory(tenant=api.tenant, status="inactive")
    assert _ids(api, "?site=Site%20A&status=inactive") == [str(target.pk)]


def test_filter_by_group(api):
    group = group_create(tenant=api.tenant, name="Night shift")
    target = LearnerFactory(tenant=api.tenant)
    target.groups.add(group)
    LearnerFactory(tenant=api.tenant)
    assert _ids(api, f"?group={group.pk}") == [str(target.pk)]


@pytest.mark.parametrize("query", ["?updatedSince=yesterday", "?status=sleeping", "?group=not-a-uuid"])
def test_invalid_filter_values_are_validation_errors(api, query):
    response = api.get(f"/api/v1/tenants/{api.tenant.slug}/learners{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
