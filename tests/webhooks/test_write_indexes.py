"""The delivery path's tables carry only the indexes a lookup uses: no LIKE-only twin of an id index.

Every recorded event, claim and recorded attempt writes to each index of its table; ids are only
ever looked up whole, so Django's second `varchar_pattern_ops` index on them is dropped (PostgreSQL).
"""

from __future__ import annotations

import pytest
from django.db import connection

from webhooks import partitions

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DELIVERY_PATH_TABLES = ("webhooks_event", "webhooks_delivery", "webhooks_attempt")


def _indexes(tables: list[str]) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(%s)",
            [tables],
        )
        return dict(cursor.fetchall())


def test_no_like_only_index_on_the_delivery_path():
    attempt_partitions = [part.name for part in partitions.partitions()]
    indexes = _indexes([*DELIVERY_PATH_TABLES, *attempt_partitions])
    assert indexes, "the tables have their indexes"
    assert [name for name, definition in indexes.items() if "pattern_ops" in definition] == []


def test_a_new_attempt_partition_has_no_like_only_index():
    top = partitions.partitions()[-1].high
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(%s, %s, false)", [partitions.SEQUENCE, top])
    assert partitions.ensure_partitions(ahead=2, size=10) >= 1
    newest = partitions.partitions()[-1]
    assert newest.low >= top
    indexes = _indexes([newest.name])
    assert any("(delivery_id)" in definition for definition in indexes.values()), "the delivery log's lookup index is there"
    assert [name for name, definition in indexes.items() if "pattern_ops" in definition] == []


def test_the_lookups_the_engine_and_the_log_use_are_kept():
    indexes = _indexes(list(DELIVERY_PATH_TABLES))
    for name in ("webhooks_delivery_pkey", "delivery_due", "delivery_endpoint_next", "delivery_endpoint_log", "delivery_tenant_log"):
        assert name in indexes
    assert any(name.startswith("webhooks_attempt_delivery_id") and "(delivery_id)" in d for name, d in indexes.items())
