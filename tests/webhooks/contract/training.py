"""Scenarios of training management: lessons, quizzes, paths, classes, the assignment lifecycle, feedback, achievements, vouchers, purchases."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from learning.models import Assignment
from learning.training.services.lifecycle import assignments_sweep
from tests.webhooks.contract import Context, scenario

QUESTIONS = [{"text": "Anchor rating?", "choices": ["5 kN", "15 kN"], "answer": 1}]


def _learner(ctx: Context, n: int = 1) -> dict:
    return ctx.post("learners", {"firstName": f"Lerato{n}", "lastName": "Dlamini", "email": f"lerato{n}@example.com"})


def _course(ctx: Context, title: str = "Working at Heights") -> dict:
    return ctx.post("courses", {"title": title, "publish": True})


def _assignment(ctx: Context, course: dict, learner: dict | None = None) -> dict:
    learner = learner or _learner(ctx)
    return ctx.post("assignments", {"learnerId": learner["id"], "courseId": course["id"], "dueDate": "2031-01-31"})


@scenario("lesson.completed", "assignment.started")
def lesson_completed(ctx: Context) -> None:
    course = _course(ctx)
    lesson = ctx.post("lessons", {"courseId": course["id"], "title": "Harness", "body": "Inspect it."})
    ctx.post("lessons", {"courseId": course["id"], "title": "Rescue", "link": "https://example.com/rescue"})
    assignment = _assignment(ctx, course)
    ctx.post(f"assignments/{assignment['id']}/lessons/{lesson['id']}/complete")


@scenario("quiz.completed")
def quiz_completed_after_review(ctx: Context) -> None:
    course = _course(ctx)
    ctx.post("quizzes", {"courseId": course["id"], "title": "Check", "questions": QUESTIONS, "passMark": 100, "manualTask": "Film a harness check"})
    assignment = _assignment(ctx, course)
    attempt = ctx.post(f"assignments/{assignment['id']}/quiz-attempts", {"answers": [1], "taskResponse": "https://video.example/1"})
    ctx.post(f"quiz-attempts/{attempt['id']}/grade", {"taskPassed": True})


@scenario("path.enrolled", "path.completed", "achievement.earned")
def path_enrolled_and_completed(ctx: Context) -> None:
    first, second = _course(ctx, "Induction"), _course(ctx, "Ladders")
    path = ctx.post("paths", {"title": "Site ready", "courseIds": [first["id"], second["id"]]})
    ctx.post("achievements", {"name": "Site ready", "pathId": path["id"]})
    learner = _learner(ctx)
    ctx.post("path-enrollments", {"pathId": path["id"], "learnerId": learner["id"]})
    for assignment in Assignment.objects.filter(tenant=ctx.tenant, learner_id=learner["id"]).values_list("pk", flat=True):
        ctx.post(f"assignments/{assignment}/complete")


@scenario("class.status_changed", "enrollment.status_changed")
def class_and_enrollment_status(ctx: Context) -> None:
    course = _course(ctx)
    starts = timezone.now() + timedelta(days=3)
    klass = ctx.post("classes", {"courseId": course["id"], "startsAt": starts.isoformat(), "endsAt": (starts + timedelta(hours=2)).isoformat(), "capacity": 1})
    ctx.post(f"classes/{klass['id']}/status", {"status": "Guaranteed To Run"})
    seated = ctx.post("class-enrollments", {"classId": klass["id"], "learnerId": _learner(ctx, 1)["id"]})
    ctx.post("class-enrollments", {"classId": klass["id"], "learnerId": _learner(ctx, 2)["id"]})  # waitlisted
    ctx.post(f"class-enrollments/{seated['id']}/status", {"status": 10})  # the waiting one is promoted


@scenario("assignment.expiring")
def assignment_expiring(ctx: Context) -> None:
    ctx.api.put(ctx.url("training-settings"), {"expiringWindow": {"moreThanDays": 2, "fewerThanDays": 10}}, format="json")
    course = _course(ctx)
    learner = _learner(ctx)
    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    ctx.post("assignments", {"learnerId": learner["id"], "courseId": course["id"], "dueDate": due})
    assert assignments_sweep().expiring == 1


@scenario("feedback.created")
def feedback_created(ctx: Context) -> None:
    course = _course(ctx)
    ctx.post("feedback", {"learnerId": _learner(ctx)["id"], "courseId": course["id"], "rating": 4, "comment": "Clear and practical"})


@scenario("voucher.redeemed")
def voucher_redeemed(ctx: Context) -> None:
    course = _course(ctx)
    ctx.post("vouchers", {"code": "HEIGHTS-2031", "courseId": course["id"], "usesLeft": 5})
    ctx.post("vouchers/redeem", {"code": "heights-2031", "learnerId": _learner(ctx)["id"]})


@scenario("purchase.fulfilled")
def purchase_fulfilled(ctx: Context) -> None:
    course = _course(ctx)
    purchase = ctx.post(
        "purchases", {"learnerId": _learner(ctx)["id"], "courseId": course["id"], "externalOrderId": "ORD-1001", "amount": "499.00", "currency": "ZAR"}
    )
    ctx.post(f"purchases/{purchase['id']}/fulfil")
