"""Removing expired inbound history in small batches: signals of closed needs, rejected requests, audit entries.

The signals of a need that is still open, offered or being authored are never removed, however
old: they are the evidence behind work not yet done. Each batch is one short statement; on
PostgreSQL rows are taken with FOR UPDATE SKIP LOCKED, so sweeps running at once remove each row once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from django.db import connection

from signals_inbox.models import AuditEntry, Need, NeedStatus, RejectedSignal, Signal
from skillhub.db import uses_postgres_statements
from skillhub.ids import prefixed_floor
from tenants.models import Tenant
from tenants.retention import remover
from skillhub.db import db_time

_S = Signal._meta.db_table
_N = Need._meta.db_table
_R = RejectedSignal._meta.db_table
_U = AuditEntry._meta.db_table
_CLOSED = (NeedStatus.RESOLVED.value, NeedStatus.DISMISSED.value)


def _keys(tenant_ids: Sequence[Any]) -> list[Any]:
    field = Tenant._meta.pk
    assert field is not None
    return [field.get_db_prep_value(tenant_id, connection) for tenant_id in tenant_ids]


def _in(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _batches(statement: str, params: list[Any], batch: int, *, key_position: int, start: Any) -> int:
    """Run a `DELETE … RETURNING id` batch by batch, moving the key bound on; return the rows removed."""
    total, after = 0, start
    while True:
        args = list(params)
        args[key_position] = after
        with connection.cursor() as cursor:
            cursor.execute(statement, [*args, batch])
            removed = [row[0] for row in cursor.fetchall()]
        total += len(removed)
        if len(removed) < batch:
            return total
        after = max(removed)


@remover("signals", field="signals_days", order=40)
def remove_signals(*, tenant_ids: Sequence[Any], before: datetime, batch: int = 5000, every_tenant: bool = False) -> int:
    """Remove these tenants' signals received before `before` whose need is closed; return how many."""
    if not tenant_ids:
        return 0
    keys = _keys(tenant_ids)
    lock = " FOR UPDATE OF s SKIP LOCKED" if uses_postgres_statements() else ""
    select = (
        f"SELECT s.id FROM {_S} s JOIN {_N} n ON n.id = s.need_id WHERE s.tenant_id IN ({_in(keys)}) "
        f"AND s.id > %s AND s.id < %s AND n.status IN (%s, %s) ORDER BY s.id LIMIT %s{lock}"
    )
    statement = f"DELETE FROM {_S} WHERE id IN ({select}) RETURNING id"
    params = [*keys, "", prefixed_floor("sig", before), *_CLOSED]
    removed = _batches(statement, params, batch, key_position=len(keys), start="")
    # Requests that failed validation are kept for reprocessing; past the signals' cutoff they go too.
    lock = " FOR UPDATE SKIP LOCKED" if uses_postgres_statements() else ""
    select = (
        f"SELECT id FROM {_R} WHERE tenant_id IN ({_in(keys)}) AND id > %s AND received_at < %s "
        f"ORDER BY id LIMIT %s{lock}"
    )
    _batches(f"DELETE FROM {_R} WHERE id IN ({select}) RETURNING id", [*keys, 0, db_time(before)], batch, key_position=len(keys), start=0)
    return removed


@remover("audit", field="audit_days", order=50)
def remove_audit(*, tenant_ids: Sequence[Any], before: datetime, batch: int = 5000, every_tenant: bool = False) -> int:
    """Remove these tenants' inbox audit entries made before `before`; return how many."""
    if not tenant_ids:
        return 0
    keys = _keys(tenant_ids)
    lock = " FOR UPDATE SKIP LOCKED" if uses_postgres_statements() else ""
    select = (
        f"SELECT id FROM {_U} WHERE tenant_id IN ({_in(keys)}) AND id > %s AND created_at < %s "
        f"ORDER BY id LIMIT %s{lock}"
    )
    statement = f"DELETE FROM {_U} WHERE id IN ({select}) RETURNING id"
    return _batches(statement, [*keys, 0, db_time(before)], batch, key_position=len(keys), start=0)
