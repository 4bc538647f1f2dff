"""The statements that create one learner, written by hand: compiling them with the ORM was most of a create's CPU.

On PostgreSQL (`skillhub.db.uses_postgres_statements()`) one prepared statement looks for a learner
of the tenant holding the new one's email or external worker id, inserts the new one if none does,
and adds one to the tenant's learner count. The portable twin runs the same three as separate
statements. Either way a clash writes nothing and names the field (email first); a clash with a
row committed meanwhile is the database's unique constraint (IntegrityError), as for the ORM.
"""
from __future__ import annotations

import functools
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from learning.models import Learner, LearnerCount
from skillhub.db import prepared_cursor, uses_postgres_statements

_FIELDS = Learner._meta.concrete_fields
_UNIQUE = ("email", "external_worker_id")  # the order a clash is named in


def _names() -> tuple[str, str, str, str]:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return quote(Learner._meta.db_table), quote(LearnerCount._meta.db_table), ", ".join(quote(str(f.column)) for f in _FIELDS), quote("count")


def _clash_sql() -> str:
    learners = _names()[0]
    # `<> ''` says outright what the partial unique indexes cover, so a generic plan can use them.
    return (
        f"SELECT email, external_worker_id FROM {learners} WHERE tenant_id = %(tenant)s AND "
        "((email = %(email)s AND email <> '') OR (external_worker_id = %(worker)s AND external_worker_id <> '')) LIMIT 2"
    )


@functools.cache
def _create_sql() -> str:
    """The PostgreSQL statement: the clash check, the insert if none, the count; answers (email clash, worker id clash, counted)."""
    learners, counts, columns, count = _names()
    db = connections[DEFAULT_DB_ALIAS]
    # Typed placeholders (INSERT … SELECT does not take the columns' types); text columns get none,
    # so a value too long is refused as by an INSERT … VALUES instead of cut by a cast.
    values = ", ".join(
        f"%({f.attname})s" if f.get_internal_type() == "CharField" else f"%({f.attname})s::{f.db_type(db)}" for f in _FIELDS
    )
    return (
        f"WITH clash AS ({_clash_sql()}), "
        f"created AS (INSERT INTO {learners} ({columns}) SELECT {values} WHERE NOT EXISTS (SELECT FROM clash) RETURNING 1), "
        f"counted AS (UPDATE {counts} SET {count} = {count} + 1 WHERE tenant_id = %(tenant)s AND EXISTS (SELECT FROM created) RETURNING 1) "
        "SELECT coalesce(bool_or(email = %(email)s AND email <> ''), false), "
        "coalesce(bool_or(external_worker_id = %(worker)s AND external_worker_id <> ''), false), "
        "(SELECT count(*) FROM counted) FROM clash"
    )


def _params(learner: Learner) -> dict[str, Any]:
    db = connections[DEFAULT_DB_ALIAS]  # resolved once, not once per value through the proxy
    params = {f.attname: f.get_db_prep_save(getattr(learner, f.attname), db) for f in _FIELDS}
    params.update(tenant=params["tenant_id"], worker=params["external_worker_id"])
    return params


def learner_insert(learner: Learner) -> tuple[str | None, bool]:
    """Insert a new learner (every field set) unless another learner of its tenant holds its email or worker id.

    Returns (the field that clashes, or None; whether the tenant's learner count was raised: False
    when the tenant has no count row yet). Call it inside the create's transaction.
    """
    params = _params(learner)
    if uses_postgres_statements():
        with prepared_cursor() as cursor:
            cursor.execute(_create_sql(), params)
            email_taken, worker_taken, counted = cursor.fetchone()
        clash = "email" if email_taken else "external_worker_id" if worker_taken else None
    else:
        clash, counted = _insert_portably(params)
    if clash is None:
        learner._state.adding = False
        learner._state.db = DEFAULT_DB_ALIAS
    return clash, bool(counted)


def _insert_portably(params: dict[str, Any]) -> tuple[str | None, int]:
    """The portable twin: the same check, insert and count as three statements."""
    learners, counts, columns, count = _names()
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_clash_sql(), params)
        found = cursor.fetchall()
        for index, field in enumerate(_UNIQUE):
            wanted = params[field]
            if wanted and any(row[index] == wanted for row in found):
                return field, 0
        cursor.execute(f"INSERT INTO {learners} ({columns}) VALUES ({', '.join(f'%({f.attname})s' for f in _FIELDS)})", params)
        cursor.execute(f"UPDATE {counts} SET {count} = {count} + 1 WHERE tenant_id = %(tenant)s", params)
        return None, cursor.rowcount
