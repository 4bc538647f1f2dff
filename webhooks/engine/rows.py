"""The named types the delivery path's rows become (webhooks.engine.statements says what each returns).

A claimed delivery is read by column name, never by position: a column added to
`statements.CLAIMED_COLUMNS` is one more name here, not a shifted tuple. Its delivery and event
become small frozen records, not model instances: a set builds them for every delivery it sends,
and the two models' constructors cost about 16 µs a delivery against 2.5 µs for these. Its
endpoint, shared by the set, stays a model (disabling it saves it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db import connection
from django.utils import timezone

from webhooks.models import Endpoint, Event

_DATA = Event._meta.get_field("data")


@dataclass(frozen=True)
class Claim:
    """A delivery claimed for one attempt: its token, the slot it holds (None for a ping), the breaker's count."""

    delivery_id: str
    token: str
    slot_id: int | None
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class _Record:
    """A row read for sending, answering to `pk` as the model it stands for does."""

    id: str

    @property
    def pk(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class ClaimedEvent(_Record):
    """The event of a claimed delivery: the fields of `Event` its request is built from."""

    tenant_id: uuid.UUID
    type: str
    data: Any
    subject_type: str
    subject_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedDelivery(_Record):
    """A claimed delivery: the fields of `Delivery` sending and recording it read (its event and
    endpoint are `Claimed.event` and `Claimed.endpoint`)."""

    sequence: int
    attempt_count: int
    is_ping: bool


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery and everything sending it needs."""

    claim: Claim
    delivery: ClaimedDelivery
    endpoint: Endpoint
    event: ClaimedEvent
    tenant_slug: str


def named(cursor: Any, row: Sequence[Any] | None) -> dict[str, Any] | None:
    """The row as a mapping of the cursor's column names (None for no row)."""
    if row is None:
        return None
    return {column[0]: value for column, value in zip(cursor.description, row)}


def named_all(cursor: Any, found: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows as mappings of the cursor's column names (the names read once: psycopg builds them anew on each read)."""
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row)) for row in found]


def claimed_set(found: Sequence[Mapping[str, Any]], *, token: str, slot_id: int | None) -> list[Claimed]:
    """Hydrate the rows of a set claimed under one slot: one endpoint, read once for all of them."""
    hydrated: list[Claimed] = []
    for row in found:
        if row.get("delivery_id"):
            same = hydrated[0].endpoint if hydrated and hydrated[0].endpoint.pk == row["endpoint_id"] else None
            hydrated.append(claimed(row, token=token, slot_id=slot_id, endpoint=same))
    return hydrated


def claimed(row: Mapping[str, Any], *, token: str, slot_id: int | None, endpoint: Endpoint | None = None) -> Claimed:
    """Hydrate a row holding `statements.CLAIMED_COLUMNS` (and `delivery_id`, `consecutive_failures`).

    `endpoint`, when given, is this row's endpoint already hydrated (the rows of a set share it).
    """
    tenant_id = uuid.UUID(str(row["tenant_id"]))
    event = ClaimedEvent(
        id=row["event_id"],
        tenant_id=tenant_id,
        type=row["event_type"],
        data=_json(row["data"]),
        subject_type=row["subject_type"],
        subject_id=row["subject_id"],
        created_at=_aware(row["created_at"]) or timezone.now(),  # never null in the table
    )
    endpoint = endpoint or _endpoint(row, tenant_id)
    delivery = ClaimedDelivery(
        id=row["delivery_id"],
        sequence=row["sequence"],
        attempt_count=row["attempt_count"],
        is_ping=bool(row["is_ping"]),
    )
    claim = Claim(delivery_id=delivery.pk, token=token, slot_id=slot_id, consecutive_failures=row["consecutive_failures"])
    return Claimed(claim=claim, delivery=delivery, endpoint=endpoint, event=event, tenant_slug=row["tenant_slug"])


def _endpoint(row: Mapping[str, Any], tenant_id: uuid.UUID) -> Endpoint:
    endpoint = Endpoint(
        id=row["endpoint_id"],
        tenant_id=tenant_id,
        url=row["url"],
        enabled=bool(row["enabled"]),
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_secret_expires_at=_aware(row["previous_secret_expires_at"]),
        basic_auth_username=row["basic_auth_username"],
        basic_auth_password=row["basic_auth_password"],
        additional_headers=_json(row["additional_headers"]) or {},
        payload_style=row["payload_style"],
        retry_policy=row["retry_policy"],
        send_secret_header=bool(row["send_secret_header"]),
    )
    endpoint._state.adding = False
    return endpoint


def _aware(value: Any) -> datetime | None:
    # SQLite hands back naive UTC datetimes (or text), PostgreSQL aware ones, or the ISO 8601 UTC
    # text of `statements.PG_CLAIMED_COLUMNS`.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=dt_timezone.utc) if value.tzinfo is None else value


def _json(value: Any) -> Any:
    return _DATA.from_db_value(value, None, connection)  # type: ignore[arg-type]  # no expression: a raw row
