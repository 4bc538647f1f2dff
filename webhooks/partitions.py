"""Attempts kept in id-range partitions on PostgreSQL, so retention drops a whole chunk instead of deleting rows.

Attempt ids grow with time, so a partition of `WEBHOOKS_ATTEMPT_PARTITION_ROWS` consecutive ids holds
the attempts of one stretch of time. Retention (webhooks/retention.py) detaches and drops a partition
once every row in it is past every tenant's policy and none belongs to a delivery still pending; what
is left (a partition only partly expired, tenants with shorter policies, a pending delivery's
attempts) goes by batched deletes as before. Partitioning by id rather than by date keeps the
primary key `id` alone, so nothing in Django changes.

Partitions are made ahead of the ids in use by a sweep every minute and by each retention sweep; a
default partition catches ids beyond them (a burst between sweeps), and new partitions start above
whatever it holds. On SQLite the table stays plain.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from skillhub.db import is_postgres

logger = logging.getLogger("skillhub.retention")

TABLE = "webhooks_attempt"
DEFAULT_PARTITION = f"{TABLE}_default"
SEQUENCE = f"{TABLE}_id_seq"
_BOUNDS = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")
# A partition is detached only if its lock comes quickly: the pipeline's inserts never queue behind it.
DETACH_LOCK_TIMEOUT = "2s"
MAX_PAUSE_SECONDS = 2.0
_MAKER_LOCK = 0x5EB0A77E  # the advisory lock key of whoever makes partitions


@dataclass(frozen=True)
class Partition:
    """One range partition of the attempts: ids from `low` up to, not including, `high`."""

    name: str
    low: int
    high: int


def is_partitioned() -> bool:
    """Whether the attempts table is partitioned (PostgreSQL after migration 0007)."""
    if not is_postgres():  # the table's shape, whichever statements the parity switch chooses
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [TABLE])
        return cursor.fetchone() is not None


def partitions() -> list[Partition]:
    """The range partitions of the attempts, lowest ids first (the default partition is not listed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUNDS.search(bound or "")
        if match:
            found.append(Partition(name=name, low=int(match.group(1)), high=int(match.group(2))))
    return sorted(found, key=lambda part: part.low)


def partition_rows() -> int:
    return int(settings.WEBHOOKS_ATTEMPT_PARTITION_ROWS)


def ensure_partitions(*, ahead: int | None = None, size: int | None = None) -> int:
    """Make partitions until `ahead` of them lie beyond the largest attempt id; return how many were made."""
    if not is_partitioned():
        return 0
    ahead = settings.WEBHOOKS_ATTEMPT_PARTITIONS_AHEAD if ahead is None else ahead
    size = size or partition_rows()
    # One maker at a time across processes (sweeps on several machines, the retention sweep beside them).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_MAKER_LOCK])
        existing = partitions()
        # The sequence says where the next ids come from, even before a row has taken one.
        cursor.execute(f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {TABLE}), (SELECT last_value FROM {SEQUENCE}))")
        largest = cursor.fetchone()[0]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {DEFAULT_PARTITION}")
        in_default = cursor.fetchone()[0]
        # Never a range over rows the default partition holds: PostgreSQL refuses it, and they stay there.
        low = max(existing[-1].high if existing else 0, in_default + 1)
        target = largest + ahead * size
        made = 0
        while low < target:
            _make_partition(cursor, low, size)
            low += size
            made += 1
    if made:
        logger.info("attempt partitions: made %s ahead of id %s", made, largest)
    return made


def _make_partition(cursor: Any, low: int, size: int) -> None:
    cursor.execute(f"CREATE TABLE {TABLE}_p{low} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)", [low, low + size])


def drop_expired_partitions(*, upto_id: int, unfinished_states: tuple[str, ...]) -> int:
    """Drop each partition whose ids are all at most `upto_id` and whose deliveries are all finished; return rows removed."""
    if not is_partitioned():
        return 0
    removed = 0
    for part in partitions():
        if part.high - 1 > upto_id:
            break
        if _holds_unfinished(part, unfinished_states):
            continue  # the batched delete removes the rest of it and keeps those
        started = time.monotonic()
        dropped = _drop(part)
        if dropped is None:
            break
        removed += dropped
        # Yield as long as the drop took: the delivery path gets the cores (and the table) between drops.
        time.sleep(min(time.monotonic() - started, MAX_PAUSE_SECONDS))
    return removed


def _holds_unfinished(part: Partition, unfinished_states: tuple[str, ...]) -> bool:
    # Driven by the small set of unfinished deliveries (a partial index), not by the partition's rows.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM webhooks_delivery d JOIN {part.name} a ON a.delivery_id = d.id WHERE d.state = ANY(%s) LIMIT 1",
            [list(unfinished_states)],
        )
        return cursor.fetchone() is not None


def _drop(part: Partition) -> int | None:
    """Detach and drop one partition; None when its lock did not come (the next sweep tries again)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{DETACH_LOCK_TIMEOUT}'")
            cursor.execute(f"SELECT count(*) FROM {part.name}")
            rows = cursor.fetchone()[0]
            cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {part.name}")
            cursor.execute(f"DROP TABLE {part.name}")
    except DatabaseError as exc:
        # Another sweep dropped it first, or the pipeline held the table too long: nothing is lost.
        logger.info("attempt partitions: %s not dropped this time (%s)", part.name, type(exc).__name__)
        return None
    logger.info("attempt partitions: dropped %s (ids %s to %s, %s rows)", part.name, part.low, part.high - 1, rows)
    return int(rows)


def convert_to_partitions(schema_editor: BaseDatabaseSchemaEditor, size: int) -> None:
    """Rebuild the plain attempts table as a partitioned one with the same columns, indexes and keys (a migration step)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [TABLE])
        if cursor.fetchone():
            return
        old = f"{TABLE}_unpartitioned"
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> %s", [TABLE, f"{TABLE}_pkey"]
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'f'",
            [TABLE],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
        old_sequence = cursor.fetchone()[0]
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
        cursor.execute(f"ALTER INDEX {TABLE}_pkey RENAME TO {old}_pkey")
        for name, _ in indexes:
            cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{name[:50]}_unpart"')
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id)")
        cursor.execute(f"CREATE SEQUENCE {SEQUENCE}_p AS bigint")
        cursor.execute(f"SELECT setval('{SEQUENCE}_p', COALESCE((SELECT MAX(id) FROM {old}), 0) + 1, false)")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}_p')")
        cursor.execute(f"ALTER SEQUENCE {SEQUENCE}_p OWNED BY {TABLE}.id")
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
        for _, definition in indexes:
            cursor.execute(definition)  # the names it had: later migrations may refer to them
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {old}")
        largest = cursor.fetchone()[0]
        low = 0
        while low <= largest + settings.WEBHOOKS_ATTEMPT_PARTITIONS_AHEAD * size:
            _make_partition(cursor, low, size)
            low += size
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")
        cursor.execute(f"DROP TABLE {old}")
        if old_sequence:
            cursor.execute(f"DROP SEQUENCE IF EXISTS {old_sequence}")
        # The sequence keeps the name Django would look for.
        cursor.execute(f"ALTER SEQUENCE {SEQUENCE}_p RENAME TO {SEQUENCE}")
