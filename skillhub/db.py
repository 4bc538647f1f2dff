"""Database expressions shared by the apps' selectors."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection
from django.db.models import CharField, Func


class IsoTimestamp(Func):
    """A UTC timestamp rendered as ISO 8601 text by the database itself.

    Large list pages spend much of their time turning timestamps into datetimes and back into
    text; letting the database format them skips both steps.
    """

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores UTC datetimes on SQLite as 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return self.as_sql(compiler, connection, template="replace(%(expressions)s, ' ', 'T') || 'Z'", **extra)


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """Yield a server-side-binding cursor on Django's own connection (same transaction).

    Django's cursors bind parameters client-side, so PostgreSQL parses and plans every statement
    again; the few statements every event and delivery run are the bulk of the database's CPU.
    With this cursor, `execute(sql, params, prepare=True)` plans each of them once per connection.
    (Behind a transaction-pooling PgBouncer, that needs 1.21+ with max_prepared_statements set.)
    """
    connection.ensure_connection()
    # Django opens its connections with client-side binding cursors, which never prepare.
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor
