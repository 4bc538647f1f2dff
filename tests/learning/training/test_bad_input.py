"""Junk sent to any training route is a 4xx in the SPEC error shape, never a 500, and changes nothing."""
from __future__ import annotations

import pytest

from learning.training.services import classes, commerce, paths, progress
from tests.factories import LearnerFactory
from tests.learning.training.factories import assignment, event_count, lesson, published_course, quiz, training_class, url

pytestmark = pytest.mark.django_db

JUNK = [
    None,
    [],
    "text",
    {"status": {"code": 1}},
    {"courseId": "\x00", "title": "x" * 5000},
    {"answers": [[1], {"a": 1}], "taskResponse": 7},
    {"startsAt": "tomorrow", "endsAt": 3, "capacity": -1},
    {"learnerId": "1e309", "code": ["A"], "amount": "NaN", "currency": "€€€"},
    {"expiringWindow": {"moreThanDays": "x"}, "expiringEnabled": "maybe"},
    {"questions": [{"text": "", "choices": "ab", "answer": True}], "passMark": 101},
]


@pytest.fixture
def routes(tenant):  # noqa: ANN001, ANN201
    course = published_course(tenant)
    learner = LearnerFactory(tenant=tenant)
    made = assignment(tenant, course, learner=learner)
    item = lesson(tenant, course)
    quiz(tenant, course, manual_task="Task")
    attempt = progress.quiz_attempt_submit(assignment=made, answers=[1, 0], task_response="x")
    klass = training_class(tenant, course)
    enrollment = classes.enrollment_create(tenant=tenant, training_class=klass, learner=learner)
    path = paths.path_create(tenant=tenant, values={"title": "P"}, courses=[course])
    purchase = commerce.purchase_create(tenant=tenant, learner=learner, course=course, external_order_id="O", amount="1", currency="ZAR")
    return [
        ("post", "lessons"), ("patch", f"lessons/{item.pk}"), ("post", "quizzes"), ("post", "paths"), ("patch", f"paths/{path.pk}"),
        ("post", "path-enrollments"), ("post", "classes"), ("patch", f"classes/{klass.pk}"), ("post", f"classes/{klass.pk}/status"),
        ("post", "class-enrollments"), ("post", f"class-enrollments/{enrollment.pk}/status"), ("post", "feedback"),
        ("post", "achievements"), ("post", "achievement-awards"), ("post", "vouchers"), ("post", "vouchers/redeem"),
        ("post", "purchases"), ("post", f"purchases/{purchase.pk}/fulfil"), ("post", f"assignments/{made.pk}/quiz-attempts"),
        ("post", f"quiz-attempts/{attempt.pk}/grade"), ("put", "training-settings"),
    ]


def test_junk_is_a_4xx_everywhere(api, tenant, routes):
    before = event_count()
    for method, path in routes:
        for body in JUNK:
            response = getattr(api, method)(url(tenant, path), body, format="json")
            takes_nothing = path.endswith("/fulfil") or (method == "patch" and body is None)  # an empty change is a no-op
            assert 400 <= response.status_code < 500 or (takes_nothing and response.status_code == 200), (
                method, path, body, response.content[:300],
            )
            if response.status_code >= 400:
                assert response.json()["error"]["code"], (method, path, body)
    assert event_count() >= before


def test_malformed_ids_in_paths_are_not_found(api, tenant):
    for path in ("lessons/nope", "quizzes/1", "classes/%00", "vouchers/x", "assignments/x/progress", "quiz-attempts/../x"):
        assert api.get(url(tenant, path)).status_code == 404, path
