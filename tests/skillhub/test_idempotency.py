"""Idempotency-Key on POST: a repeat answers the first response and does nothing; another body is a 409."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from learning.models import Learner
from tenants import idempotency
from tenants.models import ApiKey, AuditEvent, IdempotencyRecord
from tests.factories import TenantFactory, make_api_key
from webhooks.models import Event

pytestmark = pytest.mark.django_db

LEARNERS = "/api/v1/tenants/acme/learners"


@pytest.fixture
def api():  # noqa: ANN201
    tenant = TenantFactory(slug="acme")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}")
    client.tenant = tenant
    return client


def _post(api: APIClient, body: dict, key: str | None = "key-1", path: str = LEARNERS):  # noqa: ANN202
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(path, body, format="json", **headers)


def test_a_repeat_with_the_same_key_and_body_answers_the_first_response_and_creates_nothing():
    tenant = TenantFactory(slug="acme")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant)}")
    first = _post(api, {"firstName": "Thabo", "lastName": "Mokoena"})
    again = _post(api, {"lastName": "Mokoena", "firstName": "Thabo"})  # same body, keys in another order
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Learner.objects.filter(tenant=tenant).count() == 1
    assert Event.objects.filter(type="learner.created").count() == 1
    assert AuditEvent.objects.filter(object_type="learner", action="created").count() == 1
    # Without the key the same body is a new request.
    assert _post(api, {"firstName": "Thabo", "lastName": "Mokoena"}, key=None).json()["id"] != first.json()["id"]


def test_the_same_key_with_another_body_is_a_conflict_and_changes_nothing(api):  # noqa: ANN001
    _post(api, {"firstName": "Thabo", "lastName": "Mokoena"})
    other = _post(api, {"firstName": "Lerato", "lastName": "Mokoena"})
    assert other.status_code == 409
    error = other.json()["error"]
    assert error["code"] == "CONFLICT" and "Idempotency-Key" in error["message"]
    assert list(Learner.objects.values_list("first_name", flat=True)) == ["Thabo"]
    # The same key on another route is another request too.
    assert _post(api, {"title": "Heights"}, path="/api/v1/tenants/acme/courses").status_code == 409


def test_keys_are_scoped_to_the_api_key():
    tenant = TenantFactory(slug="acme")
    one, two = APIClient(), APIClient()
    one.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, name='one')}")
    two.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant, name='two')}")
    body = {"firstName": "Thabo", "lastName": "Mokoena"}
    assert _post(one, body).json()["id"] != _post(two, body).json()["id"]
    assert Learner.objects.count() == 2


def test_a_refused_request_is_answered_the_same_way_again(api):  # noqa: ANN001
    first = _post(api, {"firstName": "Thabo"})
    again = _post(api, {"firstName": "Thabo"})
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"


def test_a_repeat_while_the_first_still_runs_is_told_to_retry(api):  # noqa: ANN001
    body = {"firstName": "Thabo", "lastName": "Mokoena"}
    key = ApiKey.objects.get()
    IdempotencyRecord.objects.create(
        tenant=key.tenant, api_key=key, key="key-1",
        fingerprint=idempotency.fingerprint(method="POST", path=LEARNERS, data=body),
        locked_until=timezone.now() + timedelta(minutes=1), expires_at=timezone.now() + timedelta(hours=24),
    )
    response = _post(api, body)
    assert response.status_code == 409 and response["Retry-After"] == "1"
    assert "in progress" in response.json()["error"]["message"]
    assert not Learner.objects.exists()


def test_a_first_request_that_died_or_a_key_older_than_a_day_runs_again(api):  # noqa: ANN001
    body = {"firstName": "Thabo", "lastName": "Mokoena"}
    key = ApiKey.objects.get()
    past = timezone.now() - timedelta(seconds=1)
    IdempotencyRecord.objects.create(
        tenant=key.tenant, api_key=key, key="died",
        fingerprint=idempotency.fingerprint(method="POST", path=LEARNERS, data=body), locked_until=past,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    IdempotencyRecord.objects.create(
        tenant=key.tenant, api_key=key, key="old", fingerprint="0" * 64, status_code=201, body=b"{}",
        content_type="application/json", expires_at=past,
    )
    assert _post(api, body, key="died").status_code == 201
    assert _post(api, {"firstName": "B", "lastName": "C"}, key="old").status_code == 201
    assert Learner.objects.count() == 2


def test_expired_answers_are_swept():
    tenant = TenantFactory()
    raw = make_api_key(tenant)
    key = ApiKey.objects.get(prefix=raw[:12])
    now = timezone.now()
    for name, expires in (("old", now - timedelta(minutes=1)), ("fresh", now + timedelta(hours=1))):
        IdempotencyRecord.objects.create(tenant=tenant, api_key=key, key=name, fingerprint="0" * 64, expires_at=expires)
    assert idempotency.sweep_expired() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


def test_a_key_that_is_not_printable_ascii_is_a_validation_error(api):  # noqa: ANN001
    response = _post(api, {"firstName": "A", "lastName": "B"}, key="x" * 256)
    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "Idempotency-Key"
    assert not Learner.objects.exists()


def test_a_server_error_forgets_the_key_so_a_retry_runs(api, monkeypatch):  # noqa: ANN001
    from learning import api as learning_api

    def broken(**kwargs):  # noqa: ANN003, ANN202
        raise RuntimeError("database went away")

    monkeypatch.setattr(learning_api, "learner_create", broken)
    api.raise_request_exception = False
    assert _post(api, {"firstName": "A", "lastName": "B"}).status_code == 500
    monkeypatch.undo()
    assert _post(api, {"firstName": "A", "lastName": "B"}).status_code == 201
