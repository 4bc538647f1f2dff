"""Evidence files open from the console (the evidence page and its review task), behind the API download's checks."""
from __future__ import annotations

import pytest
from django.urls import reverse

from learning.evidence.models import Evidence, Task
from tenants.services import api_key_create
from tests.console.factories import PASSWORD, console_user
from tests.factories import TenantFactory
from tests.learning.evidence_helpers import EXE, PDF, PNG, client_for, make_learner, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(client):  # noqa: ANN001, ANN201
    tenant = TenantFactory(slug="acme")
    api = client_for(api_key_create(tenant=tenant, name="k", role="admin", scopes=["learners:write", "evidence:write"]).raw_key)
    learner = make_learner(api, tenant)
    for content, name, kind in ((PNG, "photo.png", "image/png"), (PDF, "certificate.pdf", "application/pdf")):
        assert upload(api, tenant, learner_id=learner["id"], content=content, name=name, content_type=kind).status_code == 201
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    return tenant


def _file(evidence: Evidence) -> str:
    return reverse("admin:learning_evidence_file", args=[evidence.pk])


def test_the_evidence_page_previews_an_image_and_a_pdf_and_offers_the_download(client, uploaded):  # noqa: ANN001
    png = Evidence.objects.get(content_type="image/png")
    page = client.get(reverse("admin:learning_evidence_change", args=[png.pk])).content.decode()
    assert f'<img class="evidence-preview" id="evidence-preview" src="{_file(png)}?inline=1"' in page
    assert f'href="{_file(png)}" download>Download</a>' in page
    shown = client.get(_file(png), {"inline": "1"})
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png" and shown["Content-Disposition"].startswith("inline")
    assert b"".join(shown.streaming_content) == PNG
    assert shown["X-Content-Type-Options"] == "nosniff" and "no-store" in shown["Cache-Control"] and "sandbox" in shown["Content-Security-Policy"]
    pdf = Evidence.objects.get(content_type="application/pdf")
    assert '<iframe class="evidence-preview pdf"' in client.get(reverse("admin:learning_evidence_change", args=[pdf.pk])).content.decode()
    assert client.get(_file(pdf), {"inline": "1"})["Content-Disposition"].startswith("inline")
    assert client.get(_file(pdf))["Content-Disposition"].startswith("attachment")


def test_the_review_task_shows_its_evidence_file(client, uploaded):  # noqa: ANN001
    task = Task.objects.select_related("evidence").get(evidence__content_type="image/png")
    listing = client.get(reverse("admin:learning_task_changelist")).content.decode()
    assert f'href="{_file(task.evidence)}?inline=1"' in listing
    page = client.get(reverse("admin:learning_task_change", args=[task.pk])).content.decode()
    assert 'id="evidence-preview"' in page and ">Open</a>" in page


def test_a_file_that_is_not_previewed_is_only_downloaded(client, uploaded):  # noqa: ANN001
    evidence = Evidence.objects.get(content_type="image/png")
    Evidence.objects.filter(pk=evidence.pk).update(content_type="application/zip")
    evidence.refresh_from_db()
    assert client.get(_file(evidence), {"inline": "1"})["Content-Disposition"].startswith("attachment")
    assert "No preview for this type of file" in client.get(reverse("admin:learning_evidence_change", args=[evidence.pk])).content.decode()
    assert EXE  # the upload API refuses executables outright (tests/learning); nothing else reaches storage


def test_another_tenants_console_user_gets_not_found_and_a_viewer_may_open_it(client, uploaded):  # noqa: ANN001
    evidence = Evidence.objects.get(content_type="image/png")
    console_user(TenantFactory(slug="other"), "stranger")
    client.login(username="stranger", password=PASSWORD)
    assert client.get(_file(evidence), {"inline": "1"}).status_code == 404
    console_user(uploaded, "watcher", role="viewer")
    client.login(username="watcher", password=PASSWORD)
    assert client.get(_file(evidence), {"inline": "1"}).status_code == 200
    client.logout()
    assert client.get(_file(evidence)).status_code == 302  # to the login
