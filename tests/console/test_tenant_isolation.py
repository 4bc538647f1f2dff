"""A tenant-A console admin can neither see, open, choose, filter to, nor act on tenant-B objects."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup
from django.urls import reverse
from rest_framework.test import APIClient

from tenants.models import StaffToken
from tenants.admin_scoping import TenantScopedAdmin
from tenants.models import SignalSecret, Site
from tests.console.factories import BUILT_MODELS, PASSWORD, console_user, every_model_row, superuser
from tests.factories import GroupFactory, TenantFactory

pytestmark = pytest.mark.django_db

# Models whose admin is scoped some other way than by tenant (documented in each admin).
NOT_TENANT_OWNED = {StaffToken: "minted for, and listed to, its own user", get_user_model(): "operators only", AuthGroup: "operators only"}


@pytest.fixture
def two_tenants(client):  # noqa: ANN001, ANN201
    mine, theirs = TenantFactory(slug="alpha"), TenantFactory(slug="bravo-hidden")
    every_model_row(mine, "alpha-owner")
    rows = every_model_row(theirs, "bravo-owner")
    console_user(mine, "alpha-admin")
    client.login(username="alpha-admin", password=PASSWORD)
    return mine, theirs, rows


def _url(model, name: str, *args) -> str:  # noqa: ANN001
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


def test_every_registered_model_is_closed_per_tenant_or_says_how():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, TenantScopedAdmin) or model in NOT_TENANT_OWNED, model


@pytest.mark.parametrize("model", [m for m in admin.site._registry if m in BUILT_MODELS], ids=lambda m: m.__name__)
def test_other_tenants_rows_are_not_listed_opened_or_in_history(client, two_tenants, model):  # noqa: ANN001
    _, _, rows = two_tenants
    hidden = rows[model]
    change_url = _url(model, "change", quote(hidden.pk))
    listing = client.get(_url(model, "changelist"))
    assert listing.status_code == 200
    assert change_url.encode() not in listing.content
    assert client.get(change_url).status_code == 404
    assert client.get(_url(model, "history", quote(hidden.pk))).status_code == 404
    assert client.get(_url(model, "delete", quote(hidden.pk))).status_code in (403, 404)


@pytest.mark.parametrize("model", [m for m in admin.site._registry if m not in (get_user_model(), AuthGroup)], ids=lambda m: m.__name__)
def test_every_list_opens_for_a_tenant_admin_and_shows_no_other_tenant(client, two_tenants, model):  # noqa: ANN001
    listing = client.get(_url(model, "changelist"))
    assert listing.status_code == 200
    assert b"bravo-hidden" not in listing.content


def test_tenant_list_shows_only_own_tenants(client, two_tenants):  # noqa: ANN001
    response = client.get(_url(TenantFactory._meta.model, "changelist"))
    assert b"alpha" in response.content
    assert b"bravo-hidden" not in response.content


def test_issue_signal_secret_action_cannot_reach_another_tenant(client, two_tenants):  # noqa: ANN001
    _, theirs, _ = two_tenants
    before = set(SignalSecret.objects.filter(tenant=theirs).values_list("secret", flat=True))
    response = client.post(
        _url(TenantFactory._meta.model, "changelist"),
        {"action": "issue_signal_secret", "_selected_action": [str(theirs.pk)]},
        follow=True,
    )
    after = set(SignalSecret.objects.filter(tenant=theirs).values_list("secret", flat=True))
    assert after == before
    assert all(secret.encode() not in response.content for secret in after)


def test_learner_form_offers_only_own_tenant_sites_and_groups(client, two_tenants):  # noqa: ANN001
    mine, theirs, _ = two_tenants
    GroupFactory(tenant=mine, name="Alpha Blasters")
    GroupFactory(tenant=theirs, name="Bravo Drillers")
    response = client.get(reverse("admin:learning_learner_add"))
    assert response.status_code == 200
    assert b"bravo-hidden" not in response.content  # not even as a tenant choice
    groups = client.get(reverse("admin:autocomplete"), {"app_label": "learning", "model_name": "learner", "field_name": "groups", "term": ""})
    names = {item["text"] for item in groups.json()["results"]}
    assert "Alpha Blasters" in names and "Bravo Drillers" not in names and "bravo-hidden secret group" not in names


def test_learner_form_refuses_another_tenants_site_posted_by_hand(client, two_tenants):  # noqa: ANN001
    mine, theirs, _ = two_tenants
    their_site = Site.objects.get(tenant=theirs)
    response = client.post(
        reverse("admin:learning_learner_add"),
        {"tenant": str(mine.pk), "first_name": "Eve", "last_name": "Cross", "status": "active", "site": str(their_site.pk)},
    )
    assert response.status_code == 200  # the form again, with an error
    assert not mine.learners.filter(first_name="Eve").exists()


def test_list_filters_name_only_own_tenants(client, two_tenants):  # noqa: ANN001
    response = client.get(reverse("admin:learning_learner_changelist"))
    assert response.status_code == 200
    assert b"alpha" in response.content
    assert b"bravo-hidden" not in response.content
    filtered = client.get(reverse("admin:learning_learner_changelist"), {"tenant__id__exact": str(two_tenants[1].pk)})
    assert b"bravo-hidden" not in filtered.content


def test_autocomplete_offers_only_own_sites(client, two_tenants):  # noqa: ANN001
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "learning", "model_name": "learner", "field_name": "site", "term": "secret"},
    )
    assert response.status_code == 200
    texts = [item["text"] for item in response.json()["results"]]
    assert texts == ["alpha secret site"]


def test_staff_token_is_minted_only_for_oneself(client, two_tenants):  # noqa: ANN001
    _, theirs, _ = two_tenants
    root = superuser()
    client.post(reverse("admin:tenants_stafftoken_add"), {"user": str(root.pk), "name": "escalate"})
    assert not StaffToken.objects.filter(user=root).exists()
    token = StaffToken.objects.get(name="escalate")
    assert token.user.username == "alpha-admin"


def test_staff_token_of_a_scoped_admin_cannot_read_another_tenant(client, two_tenants):  # noqa: ANN001
    mine, theirs, _ = two_tenants
    response = client.post(reverse("admin:tenants_stafftoken_add"), {"name": "mine"}, follow=True)
    raw = response.context["secret"]  # shown once, on the page the creating POST redirects to
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(f"/api/v1/admin/tenants/{mine.slug}/signal-map").status_code == 200
    assert api.get(f"/api/v1/admin/tenants/{theirs.slug}/signal-map").status_code == 404


def test_viewer_reads_but_cannot_change_or_act(client):  # noqa: ANN001
    tenant = TenantFactory()
    rows = every_model_row(tenant, "owner")
    console_user(tenant, "watcher", role="viewer")
    client.login(username="watcher", password=PASSWORD)
    site = rows[Site]
    assert client.get(reverse("admin:tenants_site_changelist")).status_code == 200
    response = client.post(_url(Site, "change", site.pk), {"tenant": str(tenant.pk), "name": "renamed"})
    assert response.status_code == 403
    listing = client.get(reverse("admin:learning_course_changelist"))
    assert b'name="action"' not in listing.content


def test_create_console_user_command_makes_a_viewer_who_only_reads(client):  # noqa: ANN001
    from io import StringIO

    from django.core.management import call_command

    tenant = TenantFactory(slug="gamma")
    out = StringIO()
    call_command("create_console_user", "gamma", "auditor", "--role", "viewer", stdout=out)
    password = out.getvalue().strip().splitlines()[-1]
    assert client.login(username="auditor", password=password)
    assert client.get(reverse("admin:learning_learner_changelist")).status_code == 200
    assert client.get(reverse("admin:learning_learner_add")).status_code == 403
    assert tenant.memberships.get().role == "viewer"


def test_a_viewer_session_reads_but_cannot_replace_the_signal_map(client):  # noqa: ANN001
    tenant = TenantFactory(slug="delta")
    console_user(tenant, "reader", role="viewer")
    client.login(username="reader", password=PASSWORD)
    url = f"/api/v1/admin/tenants/{tenant.slug}/signal-map"
    assert client.get(url).status_code == 200
    response = client.put(url, {"map": {"near_miss": {"topic": "X"}}}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
