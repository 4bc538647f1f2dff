"""A course page a person can work in: the outline as modules, lessons and a quiz; Publish and Archive on it."""
from __future__ import annotations

import pytest
from django.urls import reverse

from learning.models import Course, CourseStatus
from learning.services import course_create
from signals_inbox.authoring import BuiltinOutlineAuthor, SignalDigest
from tests.console.factories import PASSWORD, console_user
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(client):  # noqa: ANN001, ANN201
    tenant = TenantFactory(slug="acme")
    outline = BuiltinOutlineAuthor().draft_outline("Hazard Awareness", [SignalDigest(type="incident", site="North Pit", severity=3, payload={"what": "slip"})])
    course = course_create(tenant=tenant, title="Hazard Awareness", topic="Hazard Awareness", outline=outline, created_by="need:1")
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    return course


def _form(page_response) -> dict:  # noqa: ANN001
    """The course form as the browser would post it, from the page's bound forms."""
    context = page_response.context
    data = {"title": context["details"]["title"].value(), "topic": context["details"]["topic"].value(), "category": "", "summary": context["head"]["summary"].value(), "pass_mark": "80"}
    for formset in (context["modules"], context["questions"]):
        management = formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[f"{formset.prefix}-{name}"] = management[name].value()
        for form in formset.forms:
            for name, field in form.fields.items():
                if name == "DELETE":
                    continue
                value = form[name].value()
                data[f"{form.prefix}-{name}"] = "" if value is None else value
    return data


def test_the_outline_is_edited_as_lessons_and_a_quiz_then_published(client, draft):  # noqa: ANN001
    url = reverse("admin:learning_course_change", args=[draft.pk])
    page = client.get(url)
    text = page.content.decode()
    assert "Modules and lessons" in text and "Quiz" in text and "Save and publish" in text
    assert "video: " in text and '"modules"' not in text  # lessons as lines, not the raw JSON
    data = _form(page)
    data["modules-0-lessons"] = "reading: What Hazard Awareness covers\nvideo: Spotting a hazard on the walkway"
    data["modules-3-title"] = "Reporting hazards"
    data["modules-3-lessons"] = "activity: Fill in a hazard report"
    data["questions-0-options"] = "To keep people safe\nTo pass audits"
    data["questions-0-answer"] = "To keep people safe"
    data["modules-1-DELETE"] = "on"
    data["publish"] = "Save and publish"
    # The drafted choice questions have blank options: saved, but not published until they are written.
    refused = client.post(url, data, follow=True)
    assert "Saved, not published: quiz question 2 needs at least two options" in refused.content.decode()
    assert Course.objects.get(pk=draft.pk).status == CourseStatus.DRAFT
    data["questions-1-options"] = "Slips and trips\nNoise"
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == url
    draft.refresh_from_db()
    assert draft.status == CourseStatus.PUBLISHED and draft.published_at is not None
    titles = [m["title"] for m in draft.outline["modules"]]
    assert "Reporting hazards" in titles and len(titles) == 3
    assert draft.outline["modules"][0]["lessons"][1] == {"title": "Spotting a hazard on the walkway", "type": "video"}
    assert draft.outline["quiz"]["questions"][0]["answer"] == "To keep people safe"
    assert draft.outline["generator"] == "builtin" and draft.outline["sourceFacts"]  # what the form does not edit is kept
    assert "Save and publish" not in client.get(url).content.decode()


def test_a_wrong_answer_is_a_form_error_and_nothing_is_saved(client, draft):  # noqa: ANN001
    url = reverse("admin:learning_course_change", args=[draft.pk])
    data = _form(client.get(url))
    data["questions-0-options"] = "A\nB"
    data["questions-0-answer"] = "C"
    response = client.post(url, {**data, "save": "Save"})
    assert response.status_code == 200 and "The answer must be one of the options" in response.content.decode()
    draft.refresh_from_db()
    assert draft.outline["quiz"]["questions"][0]["answer"] is None


def test_archive_on_the_course_itself(client, draft):  # noqa: ANN001
    url = reverse("admin:learning_course_change", args=[draft.pk])
    client.post(url, {**_form(client.get(url)), "archive": "Archive"})
    assert Course.objects.get(pk=draft.pk).status == CourseStatus.ARCHIVED


def test_a_viewer_sees_the_course_but_cannot_change_it(client, draft):  # noqa: ANN001
    console_user(draft.tenant, "watcher", role="viewer")
    client.login(username="watcher", password=PASSWORD)
    url = reverse("admin:learning_course_change", args=[draft.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'id="publish-button"' not in page.content.decode()
    assert client.post(url, {**_form(page), "publish": "1"}).status_code == 403
    assert Course.objects.get(pk=draft.pk).status == CourseStatus.DRAFT
