"""The database helpers every app shares: the one dialect switch, prepared statements, expressions.

Where a path has a hand-written PostgreSQL statement (signal ingest and resolution, event fan-out,
delivery claim and record, learner pages, a learner's create, the sweeps' locking claims, exports'
COPY) it has a portable twin that runs anywhere; `uses_postgres_statements()` is the one place that chooses
between them, and the parity tests run both on PostgreSQL and compare the rows.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import CharField, Func


def is_postgres() -> bool:
    """Say whether the default database is PostgreSQL: for deployment checks and the tables' shape (partitions), never to choose a statement."""
    return connection.vendor == "postgresql"


def uses_postgres_statements() -> bool:
    """Say whether to run PostgreSQL statements (PostgreSQL, `DATABASE_POSTGRES_STATEMENTS` on) or their portable twins.

    The one dialect switch: every statement written for PostgreSQL only (`FOR UPDATE SKIP LOCKED`,
    `COPY`, `UPDATE … FROM`, multi-row `VALUES` with casts) is chosen here, so turning the setting
    off runs every portable twin, which is what the parity tests compare.
    """
    return connection.vendor == "postgresql" and settings.DATABASE_POSTGRES_STATEMENTS


def db_time(value: datetime | None) -> Any:
    """A datetime as the database driver takes it in a raw statement's parameters (None stays None)."""
    return connection.ops.adapt_datetimefield_value(value) if value is not None else None


def pg_utc_iso(expression: str) -> str:
    """PostgreSQL SQL rendering a timestamptz `expression` as ISO 8601 UTC text (`…T…Z`, microseconds),
    for raw statements; `IsoTimestamp` is the same for the ORM."""
    return f"to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


class IsoTimestamp(Func):
    """A UTC timestamp rendered as ISO 8601 text by the database itself.

    Large list pages spend much of their time turning timestamps into datetimes and back into
    text; letting the database format them skips both steps.
    """

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template=pg_utc_iso("%(expressions)s"), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores UTC datetimes on SQLite as 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return self.as_sql(compiler, connection, template="replace(%(expressions)s, ' ', 'T') || 'Z'", **extra)


_ONLY_WHEN_ASKED = 2**31 - 1


class _PreparedCursor(psycopg.Cursor):
    """A server-side-binding cursor whose statements are prepared unless the settings say not to."""

    def execute(self, query: Any, params: Sequence[Any] | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("prepare", settings.DATABASE_PREPARED_STATEMENTS)
        return super().execute(query, params, **kwargs)


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """Yield a server-side-binding cursor on Django's own connection (same transaction), PostgreSQL only.

    Django's cursors bind parameters client-side, so PostgreSQL parses and plans every statement
    again; the few statements every event and delivery run are the bulk of the database's CPU.
    With this cursor each statement is planned once per connection (`DATABASE_PREPARED_STATEMENTS`;
    turn it off behind a transaction-pooling proxy that cannot keep prepared statements). Errors
    surface as Django's database exceptions.
    """
    connection.ensure_connection()
    raw = connection.connection
    if settings.DATABASE_PREPARED_STATEMENTS and raw.prepare_threshold is None:
        # Django opens connections with preparing off (psycopg then ignores `prepare=True`); turn
        # it on for the statements run here only: the threshold is one nothing else ever reaches.
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    with connection.wrap_database_errors, _PreparedCursor(raw) as cursor:
        yield cursor


def insert_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, prepare: bool = False) -> None:
    """Insert rows of plain values (as `get_db_prep_save` gives them) in the caller's transaction.

    A few rows go in one multi-row INSERT (one round trip), on PostgreSQL a prepared one (one per
    number of rows) with `prepare` for a table written on a hot path. Many go, on PostgreSQL, in
    one COPY: the rows stream to the server with no statement to build, quote and parse (a 500-row
    INSERT spent most of its time in the client splitting and quoting its 3,500 placeholders);
    elsewhere in one statement run for every row (`executemany`).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    if len(rows) <= _FEW_ROWS:
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES {', '.join([marks] * len(rows))}"
        with prepared_cursor() if prepare and uses_postgres_statements() else connection.cursor() as cursor:
            cursor.execute(sql, [v for row in rows for v in row])
        return
    with connection.cursor() as cursor:
        if uses_postgres_statements():
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES {marks}", rows)


# Up to this many rows, one multi-row INSERT; past it, COPY (or executemany).
_FEW_ROWS = 20


def drop_like_indexes(schema_editor: Any, table: str, column: str) -> None:
    """A migration step: drop the LIKE-only twin Django gives a varchar key's index on PostgreSQL.

    Ids looked up only whole gain nothing from it, and every insert and rewritten row pays for it.
    """
    if schema_editor.connection.vendor != "postgresql":
        return  # the twin exists on PostgreSQL only
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s AND indexname LIKE %s",
            [table, f"{table}_{column}_%_like"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")
