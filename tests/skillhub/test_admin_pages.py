"""Every admin page of the back office opens, for a superuser and for a tenant's staff admin."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from learning.services import learner_create
from tenants.services import console_admin_create
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def _admin_urls() -> list[str]:
    urls = []
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:%s_%s_changelist" % info))
        if model_admin.has_add_permission.__func__ is admin.ModelAdmin.has_add_permission:
            urls.append(reverse("admin:%s_%s_add" % info))
    return urls


@pytest.mark.parametrize("url", _admin_urls())
def test_admin_page_opens_for_superuser(client, url):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.login(username="root", password="pw-root-123")
    response = client.get(url)
    assert response.status_code == 200


def test_staff_admin_sees_only_their_tenants_learners(client):
    mine, theirs = TenantFactory(), TenantFactory()
    learner_create(tenant=mine, values={"first_name": "Mine", "last_name": "Learner"})
    learner_create(tenant=theirs, values={"first_name": "Theirs", "last_name": "Learner"})
    user = console_admin_create(tenant=mine, username="ops", password="pw-ops-12345")
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="learning"))
    client.login(username="ops", password="pw-ops-12345")
    response = client.get(reverse("admin:learning_learner_changelist"))
    assert response.status_code == 200
    assert b"Mine" in response.content
    assert b"Theirs" not in response.content


def test_admin_creates_learner_through_the_service(client):
    from webhooks.models import Event

    tenant = TenantFactory()
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.login(username="root", password="pw-root-123")
    response = client.post(
        reverse("admin:learning_learner_add"),
        {"tenant": str(tenant.pk), "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "status": "active"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert Event.objects.filter(tenant=tenant, type="learner.created").count() == 1
