"""A SCIM create is a few statements in one transaction; a taken userName leaves nothing behind."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import psycopg
import pytest
import redis
from django.db import connection

from learning.models import Learner
from skillhub import db
from tenants.models import AuditEvent
from tests.provisioning.conftest import barbara
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def _second() -> dict[str, Any]:
    body = barbara()
    body.update(userName="second@example.com", externalId="701985", emails=[{"value": "second@example.com", "primary": True}])
    return body


@contextmanager
def statements(monkeypatch: Any) -> Iterator[list[str]]:
    """Every statement sent through Django's cursors or the prepared ones, in order."""
    sent: list[str] = []
    real = db._PreparedCursor.execute

    def prepared(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        sent.append(str(query))
        return real(self, query, params, **kwargs)

    def django_cursor(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(db._PreparedCursor, "execute", prepared)
    with connection.execute_wrapper(django_cursor):
        yield sent


def test_a_create_needs_no_lookup_of_its_username_and_looks_for_its_email_and_worker_id_as_it_inserts(scim_client, monkeypatch):
    scim_client.post("Users", barbara())  # the key, the tenant and the count row are warm
    with statements(monkeypatch) as sent:
        response = scim_client.post("Users", _second())
    assert response.status_code == 201, response.content
    assert not any("provisioning_scimuser" in sql and sql.lstrip().startswith("SELECT") for sql in sent)
    learner_reads = [sql for sql in sent if "learning_learner" in sql.split(" WHERE ")[0] and "SELECT" in sql.split(" WHERE ")[0]]
    assert len(learner_reads) == 1  # the clash check, in the learner's own statement on PostgreSQL
    assert sum(1 for sql in sent if "tenants_auditevent" in sql) == 1  # the learner's and the identity's rows together
    # The test's own transaction makes the create's a savepoint; learner_create opens none inside it.
    assert sum(1 for sql in sent if sql.startswith("SAVEPOINT")) == 1


@contextmanager
def round_trips(monkeypatch: Any) -> Iterator[dict[str, list[str]]]:
    """What one request sends PostgreSQL (statements, COMMIT) and Redis (commands; a pipeline is one)."""
    sent: dict[str, list[str]] = {"postgres": [], "redis": []}
    execute, commit, command, pipeline = psycopg.Cursor.execute, psycopg.Connection.commit, redis.Redis.execute_command, redis.client.Pipeline.execute

    def on_execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        sent["postgres"].append(str(query))
        return execute(self, query, params, **kwargs)

    def on_commit(self: Any) -> None:
        sent["postgres"].append("COMMIT")
        commit(self)

    def on_command(self: Any, *args: Any, **options: Any) -> Any:
        sent["redis"].append(str(args[0]))
        return command(self, *args, **options)

    def on_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent["redis"].append("pipeline: " + " ".join(str(c[0][0]) for c in self.command_stack))
        return pipeline(self, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", on_execute)
    monkeypatch.setattr(psycopg.Connection, "commit", on_commit)
    monkeypatch.setattr(redis.Redis, "execute_command", on_command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", on_pipeline)
    yield sent


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_create_is_four_statements_and_commit_then_the_parked_needs_check_and_two_redis_round_trips(scim_client, monkeypatch):
    scim_client.post("Users", barbara())
    with round_trips(monkeypatch) as sent:
        response = scim_client.post("Users", _second())

    assert response.status_code == 201, response.content
    expected = [
        'INSERT INTO "provisioning_scimuser"',  # the identity first: a taken userName stops here
        "WITH clash AS",  # the email / worker id check, the learner and the tenant's count, in one statement
        "WITH event AS",  # the event and the endpoints that want it
        'INSERT INTO "tenants_auditevent"',  # both audit entries
        "COMMIT",
        "SELECT EXISTS",  # after commit: any parked need to attach?
    ]
    assert len(sent["postgres"]) == len(expected), sent["postgres"]
    assert all(sql.lstrip().startswith(start) for sql, start in zip(sent["postgres"], expected)), sent["postgres"]
    assert sent["redis"] == ["pipeline: INCRBY EXPIRE INCRBY EXPIRE", "DEL"], sent["redis"]  # the rate limit, the cached total


def test_a_taken_username_is_409_and_the_learner_it_would_have_made_is_not_kept(scim_client):
    first = scim_client.post("Users", barbara())
    assert first.status_code == 201
    clash = barbara()
    clash.update(userName=clash["userName"].upper(), externalId="other-id", emails=[{"value": "other@example.com", "primary": True}])
    response = scim_client.post("Users", clash)
    assert response.status_code == 409 and response.json()["scimType"] == "uniqueness"
    assert "userName" in response.json()["detail"]
    tenant = scim_client.tenant
    assert Learner.objects.filter(tenant=tenant).count() == 1
    assert not Learner.objects.filter(tenant=tenant, email="other@example.com").exists()
    assert Event.objects.filter(tenant=tenant, type="learner.created").count() == 1
    assert AuditEvent.objects.filter(tenant=tenant, object_type="learner", action="created").count() == 1
