"""A need resolves, with `need.resolved`, when everyone it was offered to has completed the course."""
from __future__ import annotations

import pytest

from learning.models import Assignment
from signals_inbox.models import NeedStatus
from tests.factories import LearnerFactory, SiteFactory
from tests.signals_inbox.factories import published_course, send_and_resolve
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _complete(api, assignment):
    return api.post(f"/api/v1/tenants/{assignment.tenant.slug}/assignments/{assignment.pk}/complete")


def test_need_resolves_only_after_every_offered_learner_completes(api, client, tenant, secret, django_capture_on_commit_callbacks):
    site = SiteFactory(tenant=tenant, name="Site A")
    LearnerFactory(tenant=tenant, site=site)
    LearnerFactory(tenant=tenant, site=site)
    published_course(tenant, title="Lifting", topic="Manual Handling")
    need = send_and_resolve(client, tenant, secret, "signal.incident", site="Site A", topic="Manual Handling")
    api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/offer", {}, format="json")
    first, second = Assignment.objects.order_by("id")

    with django_capture_on_commit_callbacks(execute=True):
        assert _complete(api, first).status_code == 200
    need.refresh_from_db()
    assert need.status == NeedStatus.OFFERED
    assert not Event.objects.filter(type="need.resolved").exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert _complete(api, second).status_code == 200
    need.refresh_from_db()
    assert need.status == NeedStatus.RESOLVED
    assert need.closed_at is not None
    resolved = Event.objects.get(type="need.resolved")
    assert resolved.data["id"] == str(need.pk) and resolved.data["completedAssignments"] == 2
    assert Event.objects.filter(type="course.completed").count() == 2


def test_completing_twice_records_one_completion(api, client, tenant, secret):
    LearnerFactory(tenant=tenant, email="a@b.c")
    published_course(tenant, title="WAH", topic="Working at Heights")
    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Working at Heights")
    api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/offer", {}, format="json")
    assignment = Assignment.objects.get()

    _complete(api, assignment)
    _complete(api, assignment)

    assert Event.objects.filter(type="course.completed").count() == 1


def test_new_signal_while_offered_coalesces_and_does_not_reopen(api, client, tenant, secret, django_capture_on_commit_callbacks):
    LearnerFactory(tenant=tenant, email="a@b.c")
    published_course(tenant, title="WAH", topic="Working at Heights")
    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Working at Heights")
    api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/offer", {}, format="json")

    again = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Working at Heights", payload={"resent": True})
    with django_capture_on_commit_callbacks(execute=True):
        _complete(api, Assignment.objects.get())

    need.refresh_from_db()
    assert again.pk == need.pk
    assert need.status == NeedStatus.RESOLVED
    assert need.signal_count == 2


def test_close_sweep_resolves_a_need_whose_hook_was_missed(api, client, tenant, secret, stub_broker):
    from learning.models import AssignmentStatus
    from signals_inbox.sweeps import close_completed_needs

    LearnerFactory(tenant=tenant, email="a@b.c")
    published_course(tenant, title="WAH", topic="Working at Heights")
    need = send_and_resolve(client, tenant, secret, email="a@b.c", topic="Working at Heights")
    api.post(f"/api/v1/tenants/{tenant.slug}/needs/{need.pk}/offer", {}, format="json")
    Assignment.objects.update(status=AssignmentStatus.COMPLETED)  # as if the process died before the hook

    assert close_completed_needs() == 1
    from signals_inbox.services import need_close_if_complete

    queued = list(stub_broker.queues["signals"].queue)  # peek: taking one off would leave the queue unjoinable
    assert len(queued) == 1 and str(need.pk).encode() in queued[0]
    need_close_if_complete(need_id=need.pk)  # what the sent actor does
    need.refresh_from_db()
    assert need.status == NeedStatus.RESOLVED
