"""Another tenant's training rows are not found: every read, change and action is a 4xx that changes and sends nothing."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from learning.training.models import (
    Achievement,
    ClassEnrollment,
    Feedback,
    LearningPath,
    Lesson,
    PathEnrollment,
    Purchase,
    Quiz,
    QuizAttempt,
    TrainingClass,
    Voucher,
)
from learning.training.services import classes, commerce, engagement, paths, progress
from tests.factories import LearnerFactory, TenantFactory, make_api_key
from tests.learning.training.factories import assignment, event_count, lesson, published_course, quiz, training_class, url
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(tenant):  # noqa: ANN001, ANN201
    """One row of every training resource in `tenant`."""
    course = published_course(tenant)
    learner = LearnerFactory(tenant=tenant)
    made = assignment(tenant, course, learner=learner)
    klass = training_class(tenant, course)
    path = paths.path_create(tenant=tenant, values={"title": "P"}, courses=[course])
    quiz(tenant, course, manual_task="Show it")
    return {
        "course": course,
        "learner": learner,
        "assignment": made,
        "lesson": lesson(tenant, course),
        "quiz": Quiz.objects.get(course=course),
        "attempt": progress.quiz_attempt_submit(assignment=made, answers=[1, 0], task_response="done"),
        "class": klass,
        "enrollment": classes.enrollment_create(tenant=tenant, training_class=klass, learner=learner),
        "path": path,
        "path_enrollment": paths.path_enroll(tenant=tenant, path=path, learner=LearnerFactory(tenant=tenant))[0],
        "feedback": engagement.feedback_create(tenant=tenant, learner=learner, course=course, rating=4),
        "achievement": engagement.achievement_create(tenant=tenant, values={"name": "A"}),
        "voucher": commerce.voucher_create(tenant=tenant, code="MINE", course=course),
        "purchase": commerce.purchase_create(tenant=tenant, learner=learner, course=course, external_order_id="O", amount="1", currency="ZAR"),
    }


@pytest.fixture
def intruder():  # noqa: ANN201
    other = TenantFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other)}")
    client.tenant = other
    return client


ROUTES = [
    ("get", "lessons/{lesson}", None),
    ("patch", "lessons/{lesson}", {"title": "Mine now"}),
    ("delete", "lessons/{lesson}", None),
    ("get", "quizzes/{quiz}", None),
    ("patch", "quizzes/{quiz}", {"passMark": 0}),
    ("delete", "quizzes/{quiz}", None),
    ("post", "courses/{course}/archive", None),
    ("post", "assignments/{assignment}/lessons/{lesson}/complete", None),
    ("get", "assignments/{assignment}/progress", None),
    ("post", "assignments/{assignment}/quiz-attempts", {"answers": [1, 0], "taskResponse": "x"}),
    ("get", "quiz-attempts/{attempt}", None),
    ("post", "quiz-attempts/{attempt}/grade", {"taskPassed": True}),
    ("get", "paths/{path}", None),
    ("patch", "paths/{path}", {"title": "Mine"}),
    ("delete", "paths/{path}", None),
    ("get", "path-enrollments/{path_enrollment}", None),
    ("post", "path-enrollments/{path_enrollment}/complete", None),
    ("get", "classes/{class}", None),
    ("patch", "classes/{class}", {"capacity": 0}),
    ("delete", "classes/{class}", None),
    ("post", "classes/{class}/status", {"status": 2}),
    ("get", "class-enrollments/{enrollment}", None),
    ("post", "class-enrollments/{enrollment}/status", {"status": 10}),
    ("get", "feedback/{feedback}", None),
    ("delete", "feedback/{feedback}", None),
    ("get", "achievements/{achievement}", None),
    ("patch", "achievements/{achievement}", {"name": "Mine"}),
    ("delete", "achievements/{achievement}", None),
    ("get", "vouchers/{voucher}", None),
    ("patch", "vouchers/{voucher}", {"usesLeft": 99}),
    ("delete", "vouchers/{voucher}", None),
    ("get", "purchases/{purchase}", None),
    ("post", "purchases/{purchase}/fulfil", None),
]
# Creating in one's own tenant with the other tenant's ids: each id is refused.
CREATES = [
    ("lessons", {"courseId": "{course}", "title": "x", "body": "y"}),
    ("quizzes", {"courseId": "{course}", "title": "x"}),
    ("paths", {"title": "x", "courseIds": ["{course}"]}),
    ("path-enrollments", {"pathId": "{path}", "learnerId": "{learner}"}),
    ("classes", {"courseId": "{course}", "startsAt": "2031-01-01T08:00:00Z", "endsAt": "2031-01-01T10:00:00Z"}),
    ("class-enrollments", {"classId": "{class}", "learnerId": "{learner}"}),
    ("feedback", {"learnerId": "{learner}", "courseId": "{course}", "rating": 5}),
    ("achievements", {"name": "x", "courseId": "{course}"}),
    ("achievement-awards", {"achievementId": "{achievement}", "learnerId": "{learner}"}),
    ("vouchers", {"code": "X1", "courseId": "{course}"}),
    ("vouchers/redeem", {"code": "MINE", "learnerId": "{learner}"}),
    ("purchases", {"learnerId": "{learner}", "courseId": "{course}", "externalOrderId": "Z", "amount": "1", "currency": "ZAR"}),
]
MODELS = (Lesson, Quiz, QuizAttempt, LearningPath, PathEnrollment, TrainingClass, ClassEnrollment, Feedback, Achievement, Voucher, Purchase)


def _fill(template, owned):  # noqa: ANN001, ANN202
    ids = {key: str(value.pk) for key, value in owned.items()}
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, list):
        return [_fill(item, owned) for item in template]
    if isinstance(template, dict):
        return {key: _fill(value, owned) for key, value in template.items()}
    return template


def _snapshot() -> tuple:
    rows = tuple(sorted(map(str, model.objects.values_list("pk", "updated_at"))) for model in MODELS)
    return rows, Event.objects.count()


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_another_tenants_row_is_not_found_and_nothing_changes(owned, intruder, method, path, body):
    before = _snapshot()

    response = getattr(intruder, method)(url(intruder.tenant, _fill(path, owned)), body, format="json")

    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    assert _snapshot() == before


@pytest.mark.parametrize(("path", "body"), CREATES, ids=[p for p, _ in CREATES])
def test_another_tenants_ids_in_a_body_are_refused(owned, intruder, path, body):
    before = _snapshot()

    response = intruder.post(url(intruder.tenant, path), _fill(body, owned), format="json")

    assert response.status_code in (400, 404)
    assert _snapshot() == before


def test_another_tenants_slug_is_not_found(owned, intruder, tenant):
    assert intruder.get(url(tenant, "lessons")).status_code == 404
    assert intruder.get(url(tenant, f"lessons/{owned['lesson'].pk}")).status_code == 404


def test_lists_show_only_the_tenants_own_rows(owned, intruder):
    for collection in ("lessons", "quizzes", "quiz-attempts", "paths", "path-enrollments", "classes", "class-enrollments",
                       "feedback", "achievements", "achievement-awards", "vouchers", "purchases"):
        body = intruder.get(url(intruder.tenant, collection)).json()
        assert body["data"] == [] and body["pagination"]["total"] == 0, collection
    assert event_count() > 0
