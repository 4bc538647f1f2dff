"""A learner's create is one prepared statement on PostgreSQL; its portable twin must answer and write the same.

The scenario runs once per path (`DATABASE_POSTGRES_STATEMENTS`) on PostgreSQL, each in a tenant of
its own, and the answers and rows are compared; on the embedded default it runs the twin alone.
"""
from __future__ import annotations

from typing import Any

import pytest

from learning import statements
from learning.models import Learner, LearnerCount
from learning.services import learner_create
from skillhub.errors import ConflictError
from tenants.audit import acting_as, system_actor
from tenants.models import AuditEvent
from tests.factories import TenantFactory
from tests.parity import statements_path
from webhooks.models import Event

pytestmark = pytest.mark.django_db

CREATES: list[dict[str, Any]] = [
    {"first_name": "Ada", "last_name": "One", "email": "ada@example.com", "external_worker_id": "W-1", "role": "Guide"},
    {"first_name": "Bea", "last_name": "Two", "email": " ADA@example.com "},  # the email, in another case
    {"first_name": "Cai", "last_name": "Three", "external_worker_id": "W-1"},  # the worker id
    {"first_name": "Dee", "last_name": "Four", "email": "ada@example.com", "external_worker_id": "W-1"},  # both: email named
    {"first_name": "Eve", "last_name": "Five", "email": "eve@example.com", "external_worker_id": "W-1"},  # the worker id only
    {"first_name": "Fay", "last_name": "Six"},  # no key at all
    {"first_name": "Gus", "last_name": "Seven", "email": "", "external_worker_id": ""},  # empty keys never clash
    {"first_name": "Hal", "last_name": "Eight", "email": "hal@example.com", "status": "inactive", "site": "Site A"},
    {"first_name": "Ida", "last_name": "Nine", "email": "hal@example.com", "site": "Site B"},  # refused before its site is made
]


def _scenario(tenant: Any) -> dict[str, Any]:
    answers = []
    with acting_as(system_actor("test")):
        for values in CREATES:
            try:
                learner = learner_create(tenant=tenant, values=dict(values))
            except ConflictError as exc:
                answers.append(("conflict", exc.field, exc.message))
            else:
                answers.append(("created", learner.first_name, learner.created_at == learner.updated_at))
    learners = Learner.objects.filter(tenant=tenant).select_related("site")
    return {
        "answers": answers,
        "learners": sorted(
            (l.first_name, l.last_name, l.email, l.external_worker_id, l.sa_id_number, l.role, l.status, l.group_ids,
             l.site.name if l.site else None)
            for l in learners
        ),  # fmt: skip
        "sites": sorted(tenant.sites.values_list("name", flat=True)),
        "count": LearnerCount.objects.get(tenant=tenant).count,
        "events": sorted((e.data["firstName"], e.data["email"], e.subject_id in {str(l.pk) for l in learners}) for e in Event.objects.filter(tenant=tenant)),
        "audit": sorted((a.object_type, a.action, tuple(a.changed_fields)) for a in AuditEvent.objects.filter(tenant=tenant)),
    }


EXPECTED_ANSWERS = [
    ("created", "Ada", True),
    ("conflict", "email", "A learner with this email already exists"),
    ("conflict", "external_worker_id", "A learner with this external worker id already exists"),
    ("conflict", "email", "A learner with this email already exists"),
    ("conflict", "external_worker_id", "A learner with this external worker id already exists"),
    ("created", "Fay", True),
    ("created", "Gus", True),
    ("created", "Hal", True),
    ("conflict", "email", "A learner with this email already exists"),
]


def test_the_portable_statements_create_refuse_count_and_audit_as_the_service_always_did():
    tenant = TenantFactory()  # no count row yet: the first create counts the learners

    found = _scenario(tenant)

    assert found["answers"] == EXPECTED_ANSWERS
    assert found["learners"] == [
        ("Ada", "One", "ada@example.com", "W-1", "", "Guide", "active", [], None),
        ("Fay", "Six", "", "", "", "", "active", [], None),
        ("Gus", "Seven", "", "", "", "", "active", [], None),
        ("Hal", "Eight", "hal@example.com", "", "", "", "inactive", [], "Site A"),
    ]
    assert found["sites"] == ["Site A"]
    assert found["count"] == 4
    assert found["events"] == [("Ada", "ada@example.com", True), ("Fay", None, True), ("Gus", None, True), ("Hal", "hal@example.com", True)]
    assert [entry for entry in found["audit"] if entry[0] == "learner"] == [
        ("learner", "created", ("email", "external_worker_id", "first_name", "last_name", "role", "status")),
        ("learner", "created", ("email", "first_name", "last_name", "site", "status")),
        ("learner", "created", ("first_name", "last_name", "status")),
        ("learner", "created", ("first_name", "last_name", "status")),
    ]


@pytest.mark.postgres
def test_the_postgres_statement_and_its_portable_twin_leave_the_same_rows(settings, monkeypatch):
    results = []
    for fast in (True, False):
        with statements_path(settings, monkeypatch, statements, fast=fast) as uses:
            results.append(_scenario(TenantFactory()))
        # One statement per create, but for the last: with a site to make, its email is looked up first.
        assert len(uses) == (len(CREATES) - 1 if fast else 0)

    assert results[0] == results[1]
    assert results[0]["answers"] == EXPECTED_ANSWERS
