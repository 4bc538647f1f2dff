"""Bulk Offer and Dismiss on any selection up to the whole list: posted, summarised by cohort, one message with totals."""
from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from learning.models import Assignment, Learner
from learning.services import course_create, course_publish
from signals_inbox.bulk import bulk_run_execute
from signals_inbox.models import BulkRun, Need, NeedStatus
from tests.console.factories import PASSWORD, console_user
from tests.factories import SiteFactory, TenantFactory

pytestmark = pytest.mark.django_db

INBOX = "/admin/signals_inbox/need/"


@pytest.fixture
def acme(client):  # noqa: ANN001, ANN201
    tenant = TenantFactory(slug="acme")
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    return tenant


def _seed(tenant, *, workers: int, site_people: int = 0):  # noqa: ANN001, ANN202
    """`workers` worker needs (one learner each) and, with site_people, one site-wide need for that many people."""
    site = SiteFactory(tenant=tenant, name="Main Plant")
    course = course_publish(course=course_create(tenant=tenant, title="Chemical spill responses", topic="chemical spill responses"))
    learners = Learner.objects.bulk_create(
        Learner(tenant=tenant, first_name=f"W{i}", last_name="Worker", email=f"w{i}@acme.test", site=site) for i in range(workers + site_people)
    )
    now = timezone.now()
    rows = [
        Need(
            tenant=tenant, dedupe_key=f"k{i}", type="incident", topic="chemical spill responses", topic_key="chemical spill responses",
            target="worker", learner=learners[i], recommended_course=course, site_name="Main Plant", severity=3,
            first_seen_at=now, last_seen_at=now, created_at=now, updated_at=now,
        )
        for i in range(workers)
    ]  # fmt: skip
    if site_people:
        rows.append(Need(
            tenant=tenant, dedupe_key="site-wide", type="incident", topic="chemical spill responses", topic_key="chemical spill responses",
            target="cohort", recommended_course=course, site_name="Main Plant", severity=4,
            first_seen_at=now, last_seen_at=now, created_at=now, updated_at=now,
        ))  # fmt: skip
    rows.append(Need(
        tenant=tenant, dedupe_key="unmatched", type="incident", topic="ladders", topic_key="ladders", target="unmatched",
        worker_ref="W-404", recommended_course=course, first_seen_at=now, last_seen_at=now, created_at=now, updated_at=now,
    ))  # fmt: skip
    Need.objects.bulk_create(rows)
    return course


def _select_all(client, action: str, query: str = "status=open"):  # noqa: ANN001, ANN202
    """Tick "select all N" on the filtered list and run an action, as the changelist posts it."""
    one = Need.objects.filter(status="open").values_list("pk", flat=True).first()
    return client.post(f"{INBOX}?{query}", {"action": action, "select_across": "1", "index": "0", "_selected_action": [str(one)]})


def test_select_all_then_offer_summarises_by_cohort_biggest_first(client, acme):  # noqa: ANN001
    _seed(acme, workers=60, site_people=90)
    page = _select_all(client, "offer")
    assert page.status_code == 200
    # "Select all" posts on the list's filters, not 62 (or 10,000) ids.
    assert page.context["filters"] == "status=open" and page.context["ids"] == ""
    assert 'name="filters" value="status=open"' in page.content.decode() and "Offer training for 62 needs" in page.content.decode()
    chosen = {"filters": "status=open"}

    preview = client.post(reverse("admin:signals_inbox_need_offer_many"), {**chosen, "target": "need", "preview": "1"})
    cohorts = preview.context["summary"].cohorts
    # The one site-wide need for 150 people leads (a single line), before the 60 one-learner needs.
    assert [(c.who, c.needs, c.people) for c in cohorts] == [("everyone at Main Plant", 1, 150), ("each need's own worker", 60, 60)]
    text = re.sub(r"\s+", " ", preview.content.decode())
    # The 60 workers work at Main Plant too: 150 different people, each assigned once.
    assert "<strong id=\"offer-new-count\">150</strong>" in text
    assert "1</strong> need: the worker matches no learner" in text

    confirmed = client.post(
        reverse("admin:signals_inbox_need_offer_many"),
        {**chosen, "target": "need", "previewed": preview.context["fingerprint"], "confirm": "1"},
    )
    run = BulkRun.objects.get()
    assert confirmed.status_code == 302 and confirmed["Location"] == reverse("admin:signals_inbox_need_run", args=[run.pk])
    assert run.total == 62 and run.finished_at is None  # more than a request's worth: a background run

    bulk_run_execute(run_id=str(run.pk))
    run.refresh_from_db()
    assert (run.done, run.failed, run.assignments) == (61, 1, 150)
    assert Need.objects.filter(status=NeedStatus.OFFERED).count() == 61 and Assignment.objects.count() == 150
    run_page = client.get(confirmed["Location"]).content.decode()
    assert "Offered 61 of 62 needs (150 assignments); 1 refused" in run_page
    assert f"?run={run.pk}&amp;status=all" in run_page
    assert len(client.get(f"{INBOX}?run={run.pk}&status=all").context["cl"].result_list) == 62
    assert bulk_run_execute(run_id=str(run.pk)).done == 61  # a finished run is not carried out twice


def test_a_small_selection_runs_at_once_with_one_message(client, acme):  # noqa: ANN001
    _seed(acme, workers=3)
    ids = [str(pk) for pk in Need.objects.filter(target="worker").values_list("pk", flat=True)]
    response = client.post(reverse("admin:signals_inbox_need_dismiss_many"), {"ids": ",".join(ids), "reason": "covered by the toolbox talk"}, follow=True)
    shown = [str(m) for m in get_messages(response.wsgi_request)] or re.findall(r'<li class="success">(.*?)</li>', response.content.decode())
    assert len(shown) == 1 and shown[0].startswith("Dismissed 3 of 3 needs")
    assert Need.objects.filter(status=NeedStatus.DISMISSED).count() == 3


def test_select_all_then_dismiss_posts_the_selection(client, acme):  # noqa: ANN001
    _seed(acme, workers=80)
    page = _select_all(client, "dismiss", "status=open&topic=chemical+spill+responses")
    assert page.context["need_count"] == 80 and "Dismiss 80 needs" in page.content.decode()
    assert "and 55 more" in page.content.decode()  # the first 25 are listed, the rest summarised
    response = client.post(reverse("admin:signals_inbox_need_dismiss_many"), {"filters": page.context["filters"], "reason": "site closed"})
    bulk_run_execute(run_id=str(BulkRun.objects.get().pk))
    assert client.get(response["Location"]).status_code == 200
    assert Need.objects.filter(status=NeedStatus.DISMISSED, dismiss_reason="site closed").count() == 80
    assert Need.objects.get(topic="ladders").status == NeedStatus.OPEN  # outside the filter: untouched


def test_a_selection_of_another_tenant_or_a_bad_filter_is_not_found(client, acme):  # noqa: ANN001
    _seed(acme, workers=2)
    _seed(TenantFactory(slug="other"), workers=2)
    other = Need.objects.exclude(tenant=acme).values_list("pk", flat=True).first()
    assert client.post(reverse("admin:signals_inbox_need_offer_many"), {"ids": str(other)}).status_code == 404
    # The other tenant's needs are outside what this user's list shows, filters or not.
    page = client.post(reverse("admin:signals_inbox_need_dismiss_many"), {"filters": "status=open"})
    assert page.context["need_count"] == 3


def _page_queries(client, chosen: dict) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("admin:signals_inbox_need_offer_many"), {**chosen, "target": "need", "preview": "1"})
    assert response.status_code == 200
    return len(queries)


def test_the_confirmation_page_costs_the_same_queries_for_10_and_400_needs(client, acme):  # noqa: ANN001
    _seed(acme, workers=400, site_people=5)
    ids = [str(pk) for pk in Need.objects.order_by("target", "pk").values_list("pk", flat=True)]  # cohort, unmatched, workers
    _page_queries(client, {"ids": ",".join(ids[:10])})  # warm the per-process caches first
    assert _page_queries(client, {"ids": ",".join(ids)}) == _page_queries(client, {"ids": ",".join(ids[:10])})
    few = _page_queries(client, {"filters": "status=open&severity=4"})  # the site-wide need alone
    assert _page_queries(client, {"filters": "status=open"}) == few


def test_a_confirmed_run_is_queued_for_a_worker_once_it_commits(acme, stub_broker, django_capture_on_commit_callbacks):  # noqa: ANN001
    from signals_inbox.actors import run_bulk
    from signals_inbox.bulk import bulk_run_start

    _seed(acme, workers=3)
    ids = [str(pk) for pk in Need.objects.filter(target="worker").values_list("pk", flat=True)]
    with django_capture_on_commit_callbacks(execute=True):
        run = bulk_run_start(tenant=acme, kind="dismiss", need_ids=ids, arguments={"reason": "merged"}, actor="user:ops (console)")
        assert stub_broker.queues["signals"].qsize() == 0  # nothing is sent before the run is committed
    message = stub_broker.queues["signals"].get_nowait()
    assert b"run_bulk" in message and str(run.pk).encode() in message
    run_bulk.fn(str(run.pk))  # what the worker runs
    assert Need.objects.filter(pk__in=ids, status=NeedStatus.DISMISSED).count() == 3
