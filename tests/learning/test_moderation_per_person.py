"""Moderation is per person: never through another key of the assessor's; a second moderation must say so."""
from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from learning.evidence.models import Assessment, Moderation
from tenants.models import ApiKey
from tests.console.factories import PASSWORD, console_user
from tests.factories import make_api_key
from tests.learning.evidence_helpers import client_for, make_learner, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _console_key(console: Client, tenant, name: str) -> str:  # noqa: ANN001
    """Mint an admin key in the console, as its user, and return the raw key shown once."""
    response = console.post(reverse("admin:tenants_apikey_add"), {"tenant": str(tenant.pk), "name": name, "role": "admin", "scopes": ["assessments:read", "assessments:write", "learners:write"]}, follow=True)
    return re.search(r'<code id="secret-value">(shk_[^<]+)</code>', response.content.decode()).group(1)


@pytest.fixture
def admin_console(tenant) -> Client:  # noqa: ANN001
    user = console_user(tenant, "thandi")
    console = Client()
    console.login(username="thandi", password=PASSWORD)
    console.user = user  # type: ignore[attr-defined]
    return console


def _assess(client, tenant, learner) -> dict:  # noqa: ANN001
    response = client.post(url(tenant, "assessments"), {"learnerId": learner["id"], "outcome": "competent", "unitStandard": "US 229998"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _moderate(client, tenant, assessment, **body):  # noqa: ANN001, ANN003, ANN202
    return client.post(url(tenant, f"assessments/{assessment['id']}/moderation"), {"decision": "upheld", **body}, format="json")


def test_an_admin_cannot_moderate_their_assessment_through_a_second_key_they_minted(api, tenant, admin_console):  # noqa: ANN001
    first = client_for(_console_key(admin_console, tenant, "assessing"))
    second = client_for(_console_key(admin_console, tenant, "moderating"))
    assert ApiKey.objects.filter(created_by_ref=f"user:{admin_console.user.pk}").count() == 2
    assessment = _assess(first, tenant, make_learner(api, tenant))

    refused = _moderate(second, tenant, assessment)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN" and "own assessment" in refused.json()["error"]["message"]
    assert not Moderation.objects.exists() and not Event.objects.filter(type="moderation.completed").exists()


def test_nor_in_the_console_as_the_user_who_minted_the_assessing_key(api, tenant, admin_console):  # noqa: ANN001
    assessing = client_for(_console_key(admin_console, tenant, "assessing"))
    assessment = _assess(assessing, tenant, make_learner(api, tenant))

    response = admin_console.post(reverse("admin:learning_assessment_changelist"), {"action": "uphold", "_selected_action": [assessment["id"]]}, follow=True)

    assert "own assessment" in response.content.decode()
    assert not Moderation.objects.exists()


def test_another_persons_key_moderates(api, tenant, admin_console):  # noqa: ANN001
    assessing = client_for(_console_key(admin_console, tenant, "assessing"))
    assessment = _assess(assessing, tenant, make_learner(api, tenant))
    colleague = Client()
    console_user(tenant, "sipho")
    colleague.login(username="sipho", password=PASSWORD)
    moderating = client_for(_console_key(colleague, tenant, "moderating"))

    assert _moderate(moderating, tenant, assessment).status_code == 201


def test_a_command_line_key_records_its_creator(tenant, admin_console):  # noqa: ANN001
    out = io.StringIO()
    call_command("create_api_key", tenant.slug, "--name", "cli", "--role", "admin", "--scopes", "assessments:write", "--created-by", "thandi", stdout=out, stderr=io.StringIO())
    key = ApiKey.objects.get(name="cli")
    assert key.created_by_ref == f"user:{admin_console.user.pk}" and key.created_by_label == "user:thandi"
    call_command("create_api_key", tenant.slug, "--name", "machine", "--role", "admin", "--scopes", "assessments:write", stdout=out, stderr=io.StringIO())
    machine = ApiKey.objects.get(name="machine")
    assert machine.created_by_ref == "" and "manage.py create_api_key" in machine.created_by_label
    with pytest.raises(Exception, match="no console user"):
        call_command("create_api_key", tenant.slug, "--name", "x", "--role", "admin", "--scopes", "assessments:write", "--created-by", "nobody", stdout=out, stderr=io.StringIO())


def test_a_second_moderation_needs_remoderate_and_keeps_both(api, tenant):  # noqa: ANN001
    assessment = _assess(api, tenant, make_learner(api, tenant))
    moderator = client_for(make_api_key(tenant, role="moderator", name="moderator"))
    first = _moderate(moderator, tenant, assessment, decision="upheld")
    assert first.status_code == 201 and first.json()["supersedesId"] is None

    again = _moderate(moderator, tenant, assessment, decision="overturned")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT" and again.json()["error"]["details"]["field"] == "remoderate"
    assert Assessment.objects.get(pk=assessment["id"]).moderation_decision == "upheld"
    assert Moderation.objects.count() == 1

    redone = _moderate(moderator, tenant, assessment, decision="overturned", remoderate=True, comments="New evidence")
    assert redone.status_code == 201, redone.content
    assert redone.json()["supersedesId"] == first.json()["id"]
    shown = api.get(url(tenant, f"assessments/{assessment['id']}")).json()
    assert shown["moderationDecision"] == "overturned" and shown["overturned"] is True
    assert [(m["decision"], m["supersedesId"]) for m in shown["moderations"]] == [("upheld", None), ("overturned", first.json()["id"])]
    events = Event.objects.filter(type="moderation.completed").order_by("id")
    assert [e.data["decision"] for e in events] == ["upheld", "overturned"]


def test_the_console_remoderates_only_with_its_own_action(api, tenant, admin_console):  # noqa: ANN001
    assessment = _assess(api, tenant, make_learner(api, tenant))
    changelist = reverse("admin:learning_assessment_changelist")
    admin_console.post(changelist, {"action": "uphold", "_selected_action": [assessment["id"]]})
    refused = admin_console.post(changelist, {"action": "overturn", "_selected_action": [assessment["id"]]}, follow=True)
    assert "already moderated" in refused.content.decode()
    assert Moderation.objects.count() == 1
    admin_console.post(changelist, {"action": "remoderate_overturn", "_selected_action": [assessment["id"]]})
    assert list(Moderation.objects.order_by("id").values_list("decision", flat=True)) == ["upheld", "overturned"]
    assert Assessment.objects.get(pk=assessment["id"]).moderation_decision == "overturned"
