"""Concurrent repeats of one idempotent POST run once (PostgreSQL, a live threaded server)."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests

from learning.models import Assignment, Learner
from learning.services import course_create, course_publish, learner_create
from tests.factories import TenantFactory, make_api_key
from webhooks.models import Event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 20


def _storm(url: str, raw_key: str, body: dict, key: str) -> list[requests.Response]:
    barrier = Barrier(ATTEMPTS)
    headers = {"Authorization": f"Bearer {raw_key}", "Idempotency-Key": key}

    def send(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(url, json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        return list(pool.map(send, range(ATTEMPTS)))


def _ran_once(responses: list[requests.Response], created_status: int = 201) -> dict:
    """Every answer is the first answer (201, the same body) or a 409 "in progress"; return the first."""
    answers = [r for r in responses if r.status_code != 409]
    waiting = [r for r in responses if r.status_code == 409]
    assert answers and all(r.status_code == created_status for r in answers)
    assert len({r.content for r in answers}) == 1
    assert all(r.json()["error"]["code"] == "CONFLICT" and r.headers["Retry-After"] == "1" for r in waiting)
    return answers[0].json()


def test_twenty_concurrent_identical_assignments_with_one_key_run_once(live_server):  # noqa: ANN001
    tenant = TenantFactory(slug="acme")
    raw = make_api_key(tenant)
    learner = learner_create(tenant=tenant, values={"first_name": "Thabo", "last_name": "Mokoena"})
    course = course_publish(course=course_create(tenant=tenant, title="Working at Heights"))
    url = f"{live_server.url}/api/v1/tenants/acme/assignments"
    body = {"learnerId": str(learner.pk), "courseId": str(course.pk), "dueDate": "2027-01-31"}

    first = _ran_once(_storm(url, raw, body, "assign-1"))

    assert Assignment.objects.filter(tenant=tenant).count() == 1
    assert first["id"] == str(Assignment.objects.get().pk)
    assert Event.objects.filter(type="course.enrolled").count() == 1
    retry = requests.post(url, json=body, headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "assign-1"}, timeout=30)
    assert retry.status_code == 201 and retry.json() == first and retry.headers["Idempotent-Replayed"] == "true"
    other = requests.post(
        url, json={**body, "dueDate": "2027-02-28"}, headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "assign-1"}, timeout=30
    )
    assert other.status_code == 409 and "another request" in other.json()["error"]["message"]


def test_twenty_concurrent_identical_learner_creates_with_one_key_create_one_learner(live_server):  # noqa: ANN001
    tenant = TenantFactory(slug="acme")
    raw = make_api_key(tenant)
    url = f"{live_server.url}/api/v1/tenants/acme/learners"

    first = _ran_once(_storm(url, raw, {"firstName": "Thabo", "lastName": "Mokoena"}, "learner-1"))

    assert list(Learner.objects.filter(tenant=tenant).values_list("id", flat=True)) == [uuid.UUID(first["id"])]
