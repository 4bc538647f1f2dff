"""`migrate` and `check --database` warn when PostgreSQL never analyzes the tables on its own.

Workers keep their statements' plans until a table is analyzed; without autovacuum the plans made
while the delivery tables were small stay, and each delivery costs more as history grows.
"""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.db import connection


def _warned() -> bool:
    return any(message.id == "skillhub.W003" for message in run_checks(databases=["default"]))


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_warning_follows_the_servers_autovacuum_setting():
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]

    assert _warned() == (autovacuum != "on")


@pytest.mark.django_db
def test_without_a_database_to_look_at_nothing_is_said():
    assert not any(message.id == "skillhub.W003" for message in run_checks())
