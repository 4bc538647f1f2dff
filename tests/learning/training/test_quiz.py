"""Quizzes: auto-graded attempts, a manual task graded by an assessor, retakes, and completing the course."""
from __future__ import annotations

import pytest

from learning.training.models import QuizAttempt
from tests.factories import make_api_key
from tests.learning.training.factories import assignment, event_count, events, lesson, published_course, quiz, url

pytestmark = pytest.mark.django_db


def _attempt(api, tenant, made, answers, **extra):  # noqa: ANN001, ANN003, ANN202
    return api.post(url(tenant, f"assignments/{made.pk}/quiz-attempts"), {"answers": answers, **extra}, format="json")


def test_auto_graded_attempt_records_quiz_completed_with_score_and_passed(api, tenant):
    course = published_course(tenant)
    lesson(tenant, course)
    made = assignment(tenant, course)
    item = quiz(tenant, course, pass_mark=100)

    failed = _attempt(api, tenant, made, [1, 1])

    assert failed.status_code == 201 and failed.json()["score"] == 50.0 and failed.json()["passed"] is False
    assert events("quiz.completed") == [
        {"id": failed.json()["id"], "quizId": str(item.pk), "courseId": str(course.pk), "assignmentId": str(made.pk),
         "learnerId": str(made.learner_id), "score": 50.0, "passed": False, "completedAt": failed.json()["completedAt"]}
    ]
    assert len(events("assignment.started")) == 1


def test_passing_the_quiz_and_the_lessons_completes_the_course(api, tenant):
    course = published_course(tenant)
    one = lesson(tenant, course)
    quiz(tenant, course, pass_mark=100)
    made = assignment(tenant, course)

    api.post(url(tenant, f"assignments/{made.pk}/lessons/{one.pk}/complete"))
    assert not events("course.completed")
    passed = _attempt(api, tenant, made, [1, 0])

    assert passed.json()["passed"] is True
    assert [e["id"] for e in events("course.completed")] == [str(made.pk)]


def test_a_retake_after_passing_is_refused_and_changes_nothing(api, tenant):
    course = published_course(tenant)
    lesson(tenant, course)
    quiz(tenant, course)
    made = assignment(tenant, course)
    _attempt(api, tenant, made, [1, 0])
    before = event_count()

    retake = _attempt(api, tenant, made, [1, 0])

    assert retake.status_code == 409 and "already passed" in retake.json()["error"]["message"]
    assert QuizAttempt.objects.count() == 1 and event_count() == before


def test_a_retake_after_failing_is_allowed(api, tenant):
    course = published_course(tenant)
    quiz(tenant, course, pass_mark=100)
    made = assignment(tenant, course)

    first, second = _attempt(api, tenant, made, [0, 1]), _attempt(api, tenant, made, [1, 0])

    assert (first.json()["passed"], second.json()["passed"]) == (False, True)
    assert len(events("quiz.completed")) == 2


def test_manual_task_holds_quiz_completed_until_an_assessor_grades_it(api, tenant):
    course = published_course(tenant)
    quiz(tenant, course, manual_task="Film a harness check")
    made = assignment(tenant, course)

    held = _attempt(api, tenant, made, [1, 0], taskResponse="https://video.example/1")

    assert held.json()["status"] == "pending_review" and held.json()["passed"] is None
    assert not events("quiz.completed")
    queue = api.get(url(tenant, "quiz-attempts"), {"status": "pending_review"}).json()
    assert [a["id"] for a in queue["data"]] == [held.json()["id"]]
    assert _attempt(api, tenant, made, [1, 0], taskResponse="again").status_code == 409

    assessor = api.__class__()
    assessor.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, role='assessor')}")
    graded = assessor.post(url(tenant, f"quiz-attempts/{held.json()['id']}/grade"), {"taskPassed": True}, format="json")

    assert graded.status_code == 200 and graded.json()["passed"] is True
    assert graded.json()["reviewedBy"].startswith("api-key:")
    assert [e["passed"] for e in events("quiz.completed")] == [True]
    assert [e["id"] for e in events("course.completed")] == [str(made.pk)]
    again = assessor.post(url(tenant, f"quiz-attempts/{held.json()['id']}/grade"), {"taskPassed": False}, format="json")
    assert again.status_code == 409 and len(events("quiz.completed")) == 1


def test_a_viewer_may_not_grade(api, tenant):
    course = published_course(tenant)
    quiz(tenant, course, manual_task="Do it")
    made = assignment(tenant, course)
    held = _attempt(api, tenant, made, [1, 0], taskResponse="done").json()
    viewer = api.__class__()
    viewer.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, role='viewer')}")

    response = viewer.post(url(tenant, f"quiz-attempts/{held['id']}/grade"), {"taskPassed": True}, format="json")

    assert response.status_code == 403 and not events("quiz.completed")


def test_answers_must_match_the_questions(api, tenant):
    course = published_course(tenant)
    quiz(tenant, course)
    made = assignment(tenant, course)

    for answers in ([1], [1, 7], ["a", 0], [True, 0]):
        response = _attempt(api, tenant, made, answers)
        assert response.status_code == 400, answers
    assert QuizAttempt.objects.count() == 0 and not events("assignment.started")


def test_quiz_questions_are_validated_and_one_quiz_per_course(api, tenant):
    course = published_course(tenant)
    bad = api.post(url(tenant, "quizzes"), {"courseId": str(course.pk), "title": "Q", "questions": [{"text": "?", "choices": ["a"], "answer": 0}]}, format="json")
    good = api.post(url(tenant, "quizzes"), {"courseId": str(course.pk), "title": "Q", "questions": [{"text": "?", "choices": ["a", "b"], "answer": 1}], "passMark": 80}, format="json")
    twice = api.post(url(tenant, "quizzes"), {"courseId": str(course.pk), "title": "Q2"}, format="json")

    assert bad.status_code == 400 and good.status_code == 201 and twice.status_code == 409
    assert good.json()["passMark"] == 80 and good.json()["manualTask"] is None
