"""The Training needs inbox: columns and filters, Offer with a preview, Author, Dismiss, a need's page, query counts."""
from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from learning.models import Assignment, Course
from learning.services import assignment_create, course_create, course_publish
from signals_inbox.models import AuditEntry, Need, NeedStatus, Signal
from tests.console.factories import PASSWORD, console_user, need_row
from tests.factories import LearnerFactory, SiteFactory, TenantFactory

pytestmark = pytest.mark.django_db

INBOX = "/admin/signals_inbox/need/"


@pytest.fixture
def setup(client):  # noqa: ANN001, ANN201
    tenant = TenantFactory(slug="acme")
    site = SiteFactory(tenant=tenant, name="North Pit")
    workers = [LearnerFactory(tenant=tenant, site=site, first_name=f"Worker{i}") for i in range(3)]
    course = course_publish(course=course_create(tenant=tenant, title="Working at Heights refresher", topic="Working at Heights"))
    need = need_row(tenant, target="worker", learner=workers[0], recommended_course=course, action="offer", match="exact", severity=4, site_name="North Pit")
    Signal.objects.create(tenant=tenant, need=need, event="signal.credential_expiring", type="credential_expiring", data={"payload": {"credential": "WAH licence", "expires_at": "2026-07-15"}}, received_at=timezone.now())
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    return tenant, site, workers, course, need


def test_inbox_shows_the_columns_and_defaults_to_needs_wanting_action(client, setup):  # noqa: ANN001
    tenant, _, workers, _, need = setup
    closed = need_row(tenant, topic="Ladders", status=NeedStatus.DISMISSED, dismiss_reason="done")
    page = client.get(INBOX).content.decode()
    for text in ("4 blocking", "Working at Heights", str(workers[0]), "Working at Heights refresher", "Open", ">Offer<", ">Author<", ">Dismiss<"):
        assert text in page, text
    assert "<strong>Ladders</strong>" not in page
    assert "Ladders" in client.get(INBOX, {"status": "all"}).content.decode()
    assert "<strong>Working at Heights</strong>" not in client.get(INBOX, {"severity": "1"}).content.decode()
    assert "Ladders" in client.get(INBOX, {"status": "all", "q": "ladd"}).content.decode()
    assert closed.pk


def test_offer_to_a_site_shows_the_count_and_who_already_has_it_before_assigning(client, setup):  # noqa: ANN001
    tenant, site, workers, course, need = setup
    assignment_create(tenant=tenant, learner=workers[1], course=course)
    url = reverse("admin:signals_inbox_need_offer", args=[need.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert re.search(rf'<option value="{course.pk}" selected>', form.content.decode())  # the recommendation preselected
    choices = {"course": str(course.pk), "target": "site", "site": str(site.pk), "due_date": "2099-01-31"}

    preview = client.post(url, {**choices, "preview": "1"})
    page = preview.content.decode()
    assert 'id="offer-new-count">2<' in page
    assert str(workers[1]) in page.split("Already have it")[1]
    assert Assignment.objects.filter(tenant=tenant).count() == 1  # nothing written by the preview

    fingerprint = re.search(r'name="previewed" value="([0-9a-f]+)"', page).group(1)
    done = client.post(url, {**choices, "previewed": fingerprint, "confirm": "1"})
    assert done.status_code == 302
    assert Assignment.objects.filter(tenant=tenant, course=course).count() == 3
    assert Need.objects.get(pk=need.pk).status == NeedStatus.OFFERED
    assert AuditEntry.objects.get(need=need, action="offered").actor == "user:ops"


def test_confirm_after_changing_the_choices_previews_again(client, setup):  # noqa: ANN001
    tenant, site, workers, course, need = setup
    url = reverse("admin:signals_inbox_need_offer", args=[need.pk])
    response = client.post(url, {"course": str(course.pk), "target": "site", "site": str(site.pk), "previewed": "stale", "confirm": "1"})
    assert response.status_code == 200
    assert not Assignment.objects.exists()


def test_offer_to_a_group_without_one_is_a_form_error(client, setup):  # noqa: ANN001
    _, _, _, course, need = setup
    response = client.post(reverse("admin:signals_inbox_need_offer", args=[need.pk]), {"course": str(course.pk), "target": "group", "preview": "1"})
    assert response.status_code == 200
    assert "Choose a group" in response.content.decode()


def test_bulk_offer_action_opens_the_offer_form_for_the_selection(client, setup):  # noqa: ANN001
    tenant, _, workers, course, need = setup
    other = need_row(tenant, topic="Working at Heights", target="worker", learner=workers[2], recommended_course=course, action="offer")
    response = client.post(INBOX, {"action": "offer", "_selected_action": [str(need.pk), str(other.pk)]})
    assert response.status_code == 200
    assert "Offer training for 2 needs" in response.content.decode()


def test_author_creates_the_draft_and_opens_it(client, setup):  # noqa: ANN001
    tenant, _, _, _, need = setup
    response = client.post(reverse("admin:signals_inbox_need_author", args=[need.pk]))
    draft = Course.objects.get(tenant=tenant, status="draft")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:learning_course_change", args=[draft.pk])
    assert Need.objects.get(pk=need.pk).status == NeedStatus.AUTHORING
    assert client.get(reverse("admin:signals_inbox_need_author", args=[need.pk])).status_code == 405


def test_dismiss_asks_for_a_reason_then_closes_the_need(client, setup):  # noqa: ANN001
    _, _, _, _, need = setup
    url = reverse("admin:signals_inbox_need_dismiss", args=[need.pk])
    assert client.post(url, {"reason": "  "}).status_code == 200
    assert Need.objects.get(pk=need.pk).status == NeedStatus.OPEN
    assert client.post(url, {"reason": "Covered by the annual refresher"}).status_code == 302
    assert Need.objects.get(pk=need.pk).dismiss_reason == "Covered by the annual refresher"


def test_need_page_shows_raw_payloads_assignments_with_progress_and_audit(client, setup):  # noqa: ANN001
    tenant, site, _, course, need = setup
    client.post(reverse("admin:signals_inbox_need_offer", args=[need.pk]), {"course": str(course.pk), "target": "need", "confirm": "1", "previewed": ""})
    from signals_inbox.services import need_offer

    need_offer(need=need, actor="user:test", course_id=str(course.pk))
    page = client.get(reverse("admin:signals_inbox_need_change", args=[need.pk])).content.decode()
    assert "&quot;expires_at&quot;: &quot;2026-07-15&quot;" in page
    assert "0 of 1 completed" in page
    assert "offered" in page.split('id="audit"')[1]


def test_a_viewer_cannot_offer_author_or_dismiss(client, setup):  # noqa: ANN001
    tenant, _, _, _, need = setup
    console_user(tenant, "watcher", role="viewer")
    client.login(username="watcher", password=PASSWORD)
    assert client.get(INBOX).status_code == 200
    assert client.get(reverse("admin:signals_inbox_need_offer", args=[need.pk])).status_code == 403
    assert client.post(reverse("admin:signals_inbox_need_author", args=[need.pk])).status_code == 403
    assert client.post(reverse("admin:signals_inbox_need_dismiss", args=[need.pk]), {"reason": "x"}).status_code == 403
    assert Need.objects.get(pk=need.pk).status == NeedStatus.OPEN


def test_another_tenants_need_pages_are_not_found(client, setup):  # noqa: ANN001
    theirs = need_row(TenantFactory(), topic="Secret topic")
    for name in ("offer", "dismiss", "change"):
        assert client.get(reverse(f"admin:signals_inbox_need_{name}", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("admin:signals_inbox_need_author", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("admin:signals_inbox_need_offer_many"), {"ids": f"{theirs.pk}"}).status_code == 404
    assert client.post(reverse("admin:signals_inbox_need_offer_many"), {"ids": "not-a-uuid"}).status_code == 404
    # The selection is posted, never carried in the URL.
    assert client.get(reverse("admin:signals_inbox_need_offer_many"), {"ids": f"{theirs.pk}"}).status_code == 405


def _inbox_queries(client) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        response = client.get(INBOX, {"status": "all"})
    assert response.status_code == 200
    return len(queries)


def test_inbox_query_count_is_the_same_for_10_and_500_needs(client, setup):  # noqa: ANN001
    tenant, site, workers, course, _ = setup
    for index in range(9):
        need_row(tenant, topic=f"Topic {index}", target="worker", learner=workers[index % 3], recommended_course=course, site_name="North Pit")
    _inbox_queries(client)  # warm the per-process caches (content types, permissions) first
    few = _inbox_queries(client)
    Need.objects.bulk_create(
        [
            Need(tenant=tenant, dedupe_key=f"bulk:{i}", type="incident", topic=f"Bulk {i}", topic_key=f"bulk {i}", target=("worker", "cohort", "unmatched")[i % 3],
                 learner=workers[i % 3] if i % 3 == 0 else None, site_name="North Pit", worker_ref=f"email:w{i}@x" if i % 3 == 2 else "",
                 recommended_course=course if i % 2 else None, first_seen_at=timezone.now(), last_seen_at=timezone.now(), created_at=timezone.now(), updated_at=timezone.now())
            for i in range(490)
        ]
    )
    assert Need.objects.filter(tenant=tenant).count() == 500
    many = _inbox_queries(client)
    assert many == few, (few, many)
    assert many <= 16


def test_console_actions_appear_in_the_need_history_and_learners_are_picked_by_worker_id(client, setup):  # noqa: ANN001
    tenant, _, workers, course, need = setup
    client.post(reverse("admin:signals_inbox_need_dismiss", args=[need.pk]), {"reason": "Already booked on the course"})
    history = client.get(reverse("admin:signals_inbox_need_history", args=[need.pk])).content.decode()
    assert "Dismissed: Already booked on the course" in history
    found = client.get(reverse("admin:autocomplete"), {"app_label": "signals_inbox", "model_name": "need", "field_name": "learner", "term": workers[0].first_name})
    assert f"{workers[0]} · {workers[0].external_worker_id}" in [item["text"] for item in found.json()["results"]]
