"""The hot paths' statements are prepared once per connection on PostgreSQL, and only those.

Django opens psycopg connections with preparing off, and psycopg then ignores `prepare=True`:
every delivery claim was planned again on every call. These tests look at the server's own list
of the session's prepared statements.
"""

from __future__ import annotations

import pytest
from django.db import connection

from skillhub.db import prepared_cursor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_run_through_the_prepared_cursor_is_prepared_once(settings):
    settings.DATABASE_PREPARED_STATEMENTS = True
    statement = "SELECT count(*) FROM tenants_tenant WHERE slug <> %s"
    for _ in range(3):
        with prepared_cursor() as cursor:
            cursor.execute(statement, ["nobody"])
            assert cursor.fetchone() is not None

    prepared = [text for text in _prepared() if "tenants_tenant WHERE slug <>" in text]
    assert len(prepared) == 1


def test_orm_queries_are_never_prepared(settings, tenant):
    settings.DATABASE_PREPARED_STATEMENTS = True
    with prepared_cursor() as cursor:  # turns preparing on for this connection
        cursor.execute("SELECT 1")
    from tenants.models import Tenant

    for _ in range(10):
        assert Tenant.objects.filter(slug=tenant.slug).exists()

    assert not [text for text in _prepared() if "tenants_tenant" in text and "slug" in text and "LIMIT" in text]


def test_preparing_can_be_turned_off_for_a_transaction_pooling_proxy(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    connection.ensure_connection()
    connection.connection.prepare_threshold = None  # as Django opens every connection
    for _ in range(3):
        with prepared_cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenants_tenant WHERE slug <> %s", ["off"])

    assert not [text for text in _prepared() if "slug <>" in text]
