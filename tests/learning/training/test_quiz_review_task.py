"""A quiz attempt waiting for an assessor opens a dashboard task (`task.created`); grading it closes the task."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from learning.evidence.models import Task
from tests.console.factories import PASSWORD, console_user
from tests.factories import make_api_key
from tests.learning.training.factories import assignment, events, published_course, quiz, url

pytestmark = pytest.mark.django_db


def _pending(api, tenant) -> dict:  # noqa: ANN001
    course = published_course(tenant)
    quiz(tenant, course, manual_task="Film a harness check")
    made = assignment(tenant, course)
    response = api.post(url(tenant, f"assignments/{made.pk}/quiz-attempts"), {"answers": [1, 0], "taskResponse": "https://video.example/1"}, format="json")
    assert response.json()["status"] == "pending_review"
    return response.json()


def test_a_pending_review_attempt_opens_a_task_that_grading_closes(api, tenant):  # noqa: ANN001
    attempt = _pending(api, tenant)

    created = events("task.created")
    assert len(created) == 1
    assert created[0]["kind"] == "quiz_review" and created[0]["quizAttemptId"] == attempt["id"]
    assert created[0]["learnerId"] == attempt["learnerId"] and created[0]["evidenceId"] is None
    assert "Check" in created[0]["title"]
    board = api.get(url(tenant, "tasks"), {"status": "open"}).json()["data"]
    assert [(t["kind"], t["quizAttemptId"], t["status"]) for t in board] == [("quiz_review", attempt["id"], "open")]

    assessor = api.__class__()
    assessor.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, role='assessor')}")
    assert assessor.post(url(tenant, f"quiz-attempts/{attempt['id']}/grade"), {"taskPassed": False}, format="json").status_code == 200

    task = api.get(url(tenant, f"tasks/{board[0]['id']}")).json()
    assert task["status"] == "closed" and task["closedAt"] and task["closedBy"].startswith("api-key:")
    assert api.get(url(tenant, "tasks"), {"status": "open"}).json()["data"] == []
    assert len(events("task.created")) == 1


def test_an_auto_graded_attempt_opens_no_task(api, tenant):  # noqa: ANN001
    course = published_course(tenant)
    quiz(tenant, course)
    made = assignment(tenant, course)
    api.post(url(tenant, f"assignments/{made.pk}/quiz-attempts"), {"answers": [1, 0]}, format="json")
    assert not events("task.created") and not Task.objects.exists()


def test_grading_in_the_console_closes_the_task(api, tenant):  # noqa: ANN001
    attempt = _pending(api, tenant)
    console_user(tenant, "assessor-anna")
    console = Client()
    console.login(username="assessor-anna", password=PASSWORD)

    console.post(reverse("admin:learning_quizattempt_changelist"), {"action": "grade_passed", "_selected_action": [attempt["id"]]})

    task = Task.objects.get(quiz_attempt_id=attempt["id"])
    assert task.status == "closed" and task.closed_by == "user:assessor-anna"
