"""A prepared-statement cursor for the outbound hot paths on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection


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
