"""Auto-author: off by default; at N open needs on a topic no course fits, one draft, within the monthly quota."""
from __future__ import annotations

import pytest

from learning.models import Assignment, Course, CourseStatus
from signals_inbox.models import AuditEntry, Need, NeedStatus
from signals_inbox.services import signal_map_put
from tests.signals_inbox.factories import send_and_resolve

pytestmark = pytest.mark.django_db


def _needs_on(client, tenant, secret, topic: str, count: int, start: int = 0) -> list[Need]:
    return [send_and_resolve(client, tenant, secret, email=f"w{i}@acme.com", topic=topic) for i in range(start, start + count)]


def test_auto_author_is_off_by_default(client, tenant, secret):
    _needs_on(client, tenant, secret, "Confined Spaces", 5)

    assert not Course.objects.exists()


def test_below_the_threshold_nothing_is_authored(client, tenant, secret):
    signal_map_put(tenant=tenant, actor="test", mapping={}, auto_author=True)

    _needs_on(client, tenant, secret, "Confined Spaces", 2)

    assert not Course.objects.exists()


def test_at_the_threshold_one_draft_is_authored_for_all_the_needs(client, tenant, secret):
    signal_map_put(tenant=tenant, actor="test", mapping={}, auto_author=True)

    needs = _needs_on(client, tenant, secret, "Confined Spaces", 2) + _needs_on(client, tenant, secret, "confined space", 1, start=2)
    _needs_on(client, tenant, secret, "Confined Spaces", 1, start=3)  # a fourth joins no second draft

    course = Course.objects.get()
    assert course.status == CourseStatus.DRAFT
    assert course.created_by == "system:auto-author"
    assert not Assignment.objects.exists()
    for need in needs:
        need.refresh_from_db()
        assert need.status == NeedStatus.AUTHORING and need.authored_course == course
    assert AuditEntry.objects.filter(action="auto_authored").count() == 1


def test_threshold_is_a_tenant_setting(client, tenant, secret):
    signal_map_put(tenant=tenant, actor="test", mapping={}, auto_author=True, auto_author_threshold=5)

    _needs_on(client, tenant, secret, "Confined Spaces", 4)

    assert not Course.objects.exists()


def test_past_the_monthly_quota_drafting_is_refused_politely(client, tenant, secret):
    signal_map_put(tenant=tenant, actor="test", mapping={}, auto_author=True, authoring_quota_monthly=1)
    _needs_on(client, tenant, secret, "Confined Spaces", 3)

    _needs_on(client, tenant, secret, "Hot Work", 4, start=10)

    assert Course.objects.count() == 1
    refused = AuditEntry.objects.filter(action="auto_author_refused")
    assert refused.count() == 1
    assert "author this topic by hand or raise the quota" in refused.get().details["message"]
    assert set(Need.objects.filter(topic="Hot Work").values_list("status", flat=True)) == {NeedStatus.OPEN}


def test_topics_with_a_course_are_never_auto_authored(client, tenant, secret):
    from tests.signals_inbox.factories import published_course

    published_course(tenant, title="CS", topic="Confined Spaces")
    signal_map_put(tenant=tenant, actor="test", mapping={}, auto_author=True)

    _needs_on(client, tenant, secret, "Confined Spaces", 3)

    assert Course.objects.count() == 1


def test_sweep_authors_topics_that_waited_while_auto_author_was_off(client, tenant, secret):
    from signals_inbox.sweeps import auto_author_waiting_topics

    _needs_on(client, tenant, secret, "Confined Spaces", 3)
    signal_map_put(tenant=tenant, actor="test", mapping={}, auto_author=True)

    assert auto_author_waiting_topics() == 1
    assert auto_author_waiting_topics() == 0
    assert Course.objects.get().created_by == "system:auto-author"
