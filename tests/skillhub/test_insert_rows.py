"""insert_rows: many rows of prepared values in one go (COPY on PostgreSQL), in the caller's transaction."""
from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from skillhub.db import insert_rows
from webhooks.models import Event
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

_COLUMNS = ("id", "tenant_id", "type", "data", "subject_type", "subject_id", "created_at")


def _rows(tenant, count: int, prefix: str) -> list[list]:
    fields = [Event._meta.get_field(name) for name in ("id", "tenant", "type", "data", "subject_type", "subject_id", "created_at")]
    now = timezone.now()
    rows = []
    for n in range(count):
        values = [f"{prefix}{n:04d}", tenant.pk, "learner.created", {"n": n, "name": "Zoë \t \"quoted\" \\ line\nbreak"}, "learner", str(n), now]
        rows.append([field.get_db_prep_save(value, connection) for field, value in zip(fields, values)])
    return rows


@pytest.mark.parametrize("count", [1, 20, 21, 600])
def test_rows_go_in_with_every_value_intact(count):
    tenant = TenantFactory()
    insert_rows(Event._meta.db_table, _COLUMNS, _rows(tenant, count, "evt_t"))
    events = list(Event.objects.filter(tenant=tenant).order_by("id"))
    assert len(events) == count
    assert events[-1].data == {"n": count - 1, "name": "Zoë \t \"quoted\" \\ line\nbreak"}
    assert events[0].subject_id == "0" and events[0].created_at is not None


def test_rows_roll_back_with_the_callers_transaction():
    tenant = TenantFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        insert_rows(Event._meta.db_table, _COLUMNS, _rows(tenant, 100, "evt_r"))
        raise RuntimeError("the rest of the write failed")
    assert not Event.objects.filter(tenant=tenant).exists()


def test_nothing_to_insert_runs_no_statement(django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_rows(Event._meta.db_table, _COLUMNS, [])
