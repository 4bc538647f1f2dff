"""Audit rows held by `batched()` are inserted together when the block ends, and only if it ends well."""
from __future__ import annotations

import pytest
from django.db import transaction

from tenants.audit import acting_as, audit_record, audit_record_many, batched, scim_actor
from tenants.models import AuditEvent
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


class _Key:
    prefix = "shk_test"


def test_rows_are_held_until_the_block_ends_then_written_in_order():
    tenant = TenantFactory()
    with acting_as(scim_actor(_Key())):
        with batched():
            audit_record(tenant=tenant, object_type="learner", object_id="a", action="created", changed_fields=["email"])
            with batched():  # an inner block leaves its rows to the outer one
                audit_record(tenant=tenant, object_type="scimuser", object_id="a", action="created")
            assert not AuditEvent.objects.filter(tenant=tenant).exists()
        events = list(AuditEvent.objects.filter(tenant=tenant).order_by("id"))
    assert [(e.object_type, e.action, e.changed_fields, e.actor) for e in events] == [
        ("learner", "created", ["email"], "scim:shk_test"),
        ("scimuser", "created", [], "scim:shk_test"),
    ]


def test_a_block_that_fails_writes_none_of_its_rows():
    tenant = TenantFactory()
    with pytest.raises(RuntimeError), transaction.atomic(), batched():
        audit_record(tenant=tenant, object_type="learner", object_id="a", action="created")
        raise RuntimeError("the write failed")
    assert not AuditEvent.objects.filter(tenant=tenant).exists()
    audit_record(tenant=tenant, object_type="learner", object_id="b", action="created")
    assert AuditEvent.objects.filter(tenant=tenant).count() == 1  # outside a block: written at once


@pytest.mark.parametrize("count", [3, 250])  # one multi-row INSERT, then COPY (executemany on SQLite)
def test_many_records_are_written_in_one_go_with_their_fields(count):
    tenant = TenantFactory()
    written = audit_record_many(
        tenant=tenant,
        object_type="learner",
        items=[(f"id-{n}", "updated" if n % 2 else "created", ["role", "email"]) for n in range(count)],
    )
    assert written == count
    events = list(AuditEvent.objects.filter(tenant=tenant).order_by("id"))
    assert [e.object_id for e in events] == [f"id-{n}" for n in range(count)]
    assert events[1].action == "updated" and events[1].changed_fields == ["email", "role"]
    assert (events[0].actor, events[0].actor_kind, events[0].details) == ("system:unattributed", "system", {})
    assert {e.object_type for e in events} == {"learner"} and all(e.created_at is not None for e in events)
