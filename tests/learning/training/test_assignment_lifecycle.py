"""The assignment lifecycle: the tenant's expiring window, the sweep's once-only notices, and expiry."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from learning.models import Assignment, AssignmentStatus
from learning.training.services import lifecycle
from learning.training.services.lifecycle import assignments_sweep, training_settings_set
from tests.factories import LearnerFactory, TenantFactory
from tests.learning.training.factories import assignment, events, published_course, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _due_in(tenant, days, **kwargs):  # noqa: ANN001, ANN003, ANN202
    return assignment(tenant, kwargs.pop("course", None) or published_course(tenant), due_date=timezone.localdate() + timedelta(days=days), **kwargs)


def test_the_window_is_set_and_read_by_api(api, tenant):
    default = api.get(url(tenant, "training-settings")).json()
    changed = api.put(url(tenant, "training-settings"), {"expiringWindow": {"moreThanDays": 3, "fewerThanDays": 14}}, format="json")

    assert default == {"expiringEnabled": True, "expiringWindow": {"moreThanDays": 0, "fewerThanDays": 8}}
    assert changed.status_code == 200 and api.get(url(tenant, "training-settings")).json()["expiringWindow"] == {"moreThanDays": 3, "fewerThanDays": 14}


@pytest.mark.parametrize("window", [{"moreThanDays": 5, "fewerThanDays": 6}, {"moreThanDays": 9, "fewerThanDays": 2}, {"moreThanDays": -1, "fewerThanDays": 5}])
def test_an_empty_or_negative_window_is_refused(api, tenant, window):
    response = api.put(url(tenant, "training-settings"), {"expiringWindow": window}, format="json")

    assert response.status_code == 400
    assert api.get(url(tenant, "training-settings")).json()["expiringWindow"] == {"moreThanDays": 0, "fewerThanDays": 8}


def test_expiring_is_sent_once_per_window_for_more_than_x_and_fewer_than_y_days(tenant):
    training_settings_set(tenant=tenant, more_than_days=3, fewer_than_days=10)
    course = published_course(tenant)
    edge_low, inside_low, inside_high, edge_high = (_due_in(tenant, d, course=course) for d in (3, 4, 9, 10))

    first, second = assignments_sweep(), assignments_sweep()

    assert (first.expiring, second.expiring) == (2, 0)
    assert sorted((e["id"], e["daysLeft"]) for e in events("assignment.expiring")) == sorted(
        [(str(inside_low.pk), 4), (str(inside_high.pk), 9)]
    )
    assert str(edge_low.pk) != str(edge_high.pk)


def test_a_new_due_date_opens_a_new_window(tenant):
    made = _due_in(tenant, 3)
    assignments_sweep()
    Assignment.objects.filter(pk=made.pk).update(due_date=timezone.localdate() + timedelta(days=5))

    assert assignments_sweep().expiring == 1
    assert [e["daysLeft"] for e in events("assignment.expiring", id=str(made.pk))] == [3, 5]


def test_each_tenant_has_its_own_window_and_may_switch_it_off(tenant):
    other, silent = TenantFactory(), TenantFactory()
    training_settings_set(tenant=other, more_than_days=20, fewer_than_days=40)
    training_settings_set(tenant=silent, more_than_days=0, fewer_than_days=8, enabled=False)
    near, far, silent_one = _due_in(tenant, 5), _due_in(other, 30), _due_in(silent, 5)
    _due_in(other, 5)  # outside the other tenant's window

    assert assignments_sweep().expiring == 2
    assert {e["id"] for e in events("assignment.expiring")} == {str(near.pk), str(far.pk)}
    assert str(silent_one.pk) not in {e["id"] for e in events("assignment.expiring")}


def test_expired_once_with_the_reason(api, tenant):
    course = published_course(tenant)
    untouched = _due_in(tenant, -1, course=course)
    started = _due_in(tenant, -2, course=published_course(tenant, "Other"))
    Assignment.objects.filter(pk=started.pk).update(started_at=timezone.now(), status=AssignmentStatus.STARTED)
    done = _due_in(tenant, -3, course=published_course(tenant, "Third"))
    api.post(url(tenant, f"assignments/{done.pk}/complete"))

    first, second = assignments_sweep(), assignments_sweep()

    assert (first.expired, second.expired) == (2, 0)
    assert {e["id"]: e["reason"] for e in events("assignment.expired")} == {str(untouched.pk): "not_started", str(started.pk): "incomplete"}
    assert Assignment.objects.get(pk=done.pk).status == AssignmentStatus.COMPLETED


def test_the_sweep_is_registered_with_the_scheduler():
    from skillhub.scheduler import load_sweeps

    assert "learning.training.sweeps.sweep_assignment_lifecycle" in load_sweeps()


def test_a_restarted_sweep_sends_nothing_again(tenant, monkeypatch):
    monkeypatch.setattr(lifecycle, "BATCH", 3)
    course = published_course(tenant)
    for _ in range(7):
        _due_in(tenant, -1, learner=LearnerFactory(tenant=tenant), course=course)
        _due_in(tenant, 4, learner=LearnerFactory(tenant=tenant), course=course)

    assert assignments_sweep() == lifecycle.SweepResult(expiring=7, expired=7)
    assert assignments_sweep() == lifecycle.SweepResult(expiring=0, expired=0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_racing_on_postgresql_send_each_notice_once(tenant, monkeypatch):
    monkeypatch.setattr(lifecycle, "BATCH", 25)
    course = published_course(tenant)
    learners = LearnerFactory.create_batch(400, tenant=tenant)
    today = timezone.localdate()
    Assignment.objects.bulk_create(
        Assignment(tenant=tenant, learner=learner, course=course, due_date=today + timedelta(days=(-1 if i % 2 else 4)))
        for i, learner in enumerate(learners)
    )
    barrier = threading.Barrier(2)
    results: list[lifecycle.SweepResult] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(assignments_sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.expired for r in results) == 200 and sum(r.expiring for r in results) == 200
    per_subject = Counter(Event.objects.filter(type__in=["assignment.expired", "assignment.expiring"]).values_list("type", "subject_id"))
    assert len(per_subject) == 400 and set(per_subject.values()) == {1}
