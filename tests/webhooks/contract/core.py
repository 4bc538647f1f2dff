"""Scenarios of learners, courses and assignments, training needs and endpoints."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from learning.models import Assignment
from learning.training.services.lifecycle import assignments_expire
from tests.signals_inbox.factories import issue_secret, send_and_resolve
from tests.webhooks.contract import Context, scenario
from webhooks.models import Endpoint


def _learner(ctx: Context, n: int = 1) -> dict:
    return ctx.post("learners", {"firstName": f"Thabo{n}", "lastName": "Mokoena", "email": f"thabo{n}@example.com", "externalWorkerId": f"W-{n}"})


def _published_course(ctx: Context, title: str = "Working at Heights", topic: str = "Working at Heights") -> dict:
    return ctx.post("courses", {"title": title, "topic": topic, "publish": True})


@scenario("learner.created", "learner.updated", "learner.deleted")
def learner_lifecycle(ctx: Context) -> None:
    learner = _learner(ctx)
    ctx.patch(f"learners/{learner['id']}", {"lastName": "Dlamini"})
    ctx.delete(f"learners/{learner['id']}")


@scenario("course.enrolled", "course.completed", "assignment.completed")
def assign_and_complete(ctx: Context) -> None:
    learner, course = _learner(ctx), _published_course(ctx)
    assignment = ctx.post("assignments", {"learnerId": learner["id"], "courseId": course["id"], "dueDate": "2031-01-31"})
    ctx.post(f"assignments/{assignment['id']}/complete")


@scenario("assignment.expired")
def assignment_expires(ctx: Context) -> None:
    learner, course = _learner(ctx), _published_course(ctx)
    assignment = ctx.post("assignments", {"learnerId": learner["id"], "courseId": course["id"], "dueDate": "2031-01-31"})
    # Expiry is driven by the clock: the periodic sweep runs on the day after the due date.
    Assignment.objects.filter(pk=assignment["id"]).update(due_date=timezone.localdate() - timedelta(days=1))
    assert assignments_expire() == 1


def _need(ctx: Context) -> str:
    secret = issue_secret(ctx.tenant)
    need = send_and_resolve(Client(), ctx.tenant, secret, external_worker_id="W-1", topic="Working at Heights", severity=3)
    return str(need.pk)


@scenario("need.created", "need.offered", "need.resolved")
def need_offered_and_resolved(ctx: Context) -> None:
    _learner(ctx)
    _published_course(ctx)
    need_id = _need(ctx)
    offer = ctx.post(f"needs/{need_id}/offer", {})
    for assignment in offer["assignments"]:
        ctx.post(f"assignments/{assignment['id']}/complete")
    # Closing on completion runs after the completing transaction commits.
    from signals_inbox.services import needs_close_for_assignment

    for assignment_id in Assignment.objects.filter(tenant=ctx.tenant).values_list("pk", flat=True):
        needs_close_for_assignment(tenant_id=ctx.tenant.pk, assignment_id=assignment_id)


@scenario("need.authored", "need.dismissed")
def need_authored_then_dismissed(ctx: Context) -> None:
    _learner(ctx)
    need_id = _need(ctx)
    ctx.post(f"needs/{need_id}/author")
    ctx.post(f"needs/{need_id}/dismiss", {"reason": "Covered by the site induction"})


@scenario("webhook.ping")
def ping(ctx: Context) -> None:
    for endpoint_id in Endpoint.objects.filter(tenant=ctx.tenant).values_list("pk", flat=True):
        ctx.post(f"webhooks/{endpoint_id}/ping")


@scenario("endpoint.disabled")
def endpoint_disabled(ctx: Context) -> None:
    gone = ctx.state["gone_url"]
    ctx.post("webhooks", {"url": gone, "events": ["learner.created"]})
    # Delivering learner.created to the gone endpoint (410) disables it and tells the others.
    _learner(ctx, 7)
