"""An endpoint's health, kept as its attempts happen: the console reads these rows, never the history.

Each recorded attempt updates two small rows: the endpoint's `EndpointHealth` (last attempt, last
success and failure, failures in a row) and its `EndpointHour` bucket (outcomes and a latency
histogram). Pages then cost the same with ten million past attempts as with none. The two upserts
are one statement on PostgreSQL (committed asynchronously like the attempt itself: a crash may
forget the last fraction of a second of counts, never a delivery).
"""

from __future__ import annotations

import bisect
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any, Iterable

from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.safestring import SafeString

from skillhub.console import charts
from skillhub.db import uses_postgres_statements, prepared_cursor
from skillhub.db import db_time
from webhooks.models import LATENCY_BOUNDS_MS, EndpointHealth, EndpointHour

_H = EndpointHealth._meta.db_table
_B = EndpointHour._meta.db_table
LAT_COLUMNS = [f"lat_{i}" for i in range(len(LATENCY_BOUNDS_MS) + 1)]
OUTCOMES = ("delivered", "retrying", "failed")

_HEALTH_INSERT = (
    f"INSERT INTO {_H} (endpoint_id, last_attempt_at, last_status_code, last_success_at, last_failure_at, failures_in_a_row) "
)
_HEALTH_ON_CONFLICT = (
    " ON CONFLICT (endpoint_id) DO UPDATE SET "
    # Attempts of one endpoint may finish out of order; the newest start wins the "last" columns.
    f"last_attempt_at = CASE WHEN {_H}.last_attempt_at IS NULL OR excluded.last_attempt_at >= {_H}.last_attempt_at "
    f"THEN excluded.last_attempt_at ELSE {_H}.last_attempt_at END, "
    f"last_status_code = CASE WHEN {_H}.last_attempt_at IS NULL OR excluded.last_attempt_at >= {_H}.last_attempt_at "
    f"THEN excluded.last_status_code ELSE {_H}.last_status_code END, "
    f"last_success_at = COALESCE(excluded.last_success_at, {_H}.last_success_at), "
    f"last_failure_at = COALESCE(excluded.last_failure_at, {_H}.last_failure_at), "
    # A set of attempts with a success in it (the parameter) ends the run: the failures after its
    # last success start a new one; a set of failures only lengthens the run.
    f"failures_in_a_row = CASE WHEN %s THEN excluded.failures_in_a_row ELSE {_H}.failures_in_a_row + excluded.failures_in_a_row END"
)
_HEALTH_UPSERT = _HEALTH_INSERT + "VALUES (%s, %s, %s, %s, %s, %s)" + _HEALTH_ON_CONFLICT
_HOUR_COLUMNS = ", ".join([*OUTCOMES, *LAT_COLUMNS])
_HOUR_UPSERT = (
    f"INSERT INTO {_B} (endpoint_id, hour, {_HOUR_COLUMNS}) VALUES (%s, %s, {', '.join(['%s'] * (3 + len(LAT_COLUMNS)))}) "
    "ON CONFLICT (endpoint_id, hour) DO UPDATE SET "
    + ", ".join(f"{column} = {_B}.{column} + excluded.{column}" for column in [*OUTCOMES, *LAT_COLUMNS])
)
# PostgreSQL: both in one autocommitted statement (typed, so it can be prepared), committed
# asynchronously as the delivery path's statements are (webhooks/engine/statements.py says why).
_BOTH_PG = (
    f"WITH health AS ({_HEALTH_INSERT}SELECT %s, %s::timestamptz, %s::integer, %s::timestamptz, %s::timestamptz, "
    "%s::integer FROM (SELECT set_config('synchronous_commit', "
    "CASE WHEN %s::boolean THEN 'off' ELSE current_setting('synchronous_commit') END, true)) AS commit_mode"
    f"{_HEALTH_ON_CONFLICT}) {_HOUR_UPSERT}"
)


def latency_bucket(duration_ms: int) -> int:
    """The histogram bucket of a duration: the first bound it does not exceed (the last bucket holds the rest)."""
    return bisect.bisect_left(LATENCY_BOUNDS_MS, max(int(duration_ms), 0))


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour `moment` falls in."""
    return moment.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class AttemptNote:
    """One recorded attempt, as endpoint health counts it."""

    endpoint_id: str
    started_at: datetime
    duration_ms: int
    status_code: int | None
    outcome: str  # `delivered`, `retrying` (failed, another attempt scheduled) or `failed` (given up)


def note_attempt(
    *, endpoint_id: str, started_at: datetime, duration_ms: int, status_code: int | None, outcome: str
) -> None:
    """Count one recorded attempt in its endpoint's health and hourly bucket."""
    note_attempts([AttemptNote(endpoint_id, started_at, duration_ms, status_code, outcome)])


def note_attempts(notes: Iterable[AttemptNote]) -> None:
    """Count recorded attempts in their endpoints' health and hourly buckets: one statement per
    endpoint and hour on PostgreSQL, however many attempts (a worker's turn notes its attempts at its end)."""
    by_endpoint: dict[str, list[AttemptNote]] = {}
    for note in notes:
        by_endpoint.setdefault(note.endpoint_id, []).append(note)
    rows = []
    for endpoint_id in sorted(by_endpoint):  # rows locked in one order by every writer: no deadlock
        mine = by_endpoint[endpoint_id]
        rows.append((*_health_row(endpoint_id, sorted(mine, key=lambda n: n.started_at)), _hour_rows(endpoint_id, mine)))
    if not rows:
        return
    if uses_postgres_statements() and not connection.in_atomic_block:
        # The endpoints of a worker's message in one round trip (and one transaction, committed asynchronously).
        with prepared_cursor() as cursor, _pipeline(len(rows) > 1):
            for health, reset, hours in rows:
                cursor.execute(_BOTH_PG, [*health, True, reset, *hours[0]])
                for hour in hours[1:]:
                    cursor.execute(_HOUR_UPSERT, hour)
        return
    with connection.cursor() as cursor:
        for health, reset, hours in rows:
            cursor.execute(_HEALTH_UPSERT, [*health, reset])
            for hour in hours:
                cursor.execute(_HOUR_UPSERT, hour)


def _pipeline(wanted: bool) -> Any:
    """psycopg's pipeline on this thread's connection (statements sent without waiting for each answer), or nothing."""
    return connection.connection.pipeline() if wanted else nullcontext()


def _health_row(endpoint_id: str, ordered: list[AttemptNote]) -> tuple[list[Any], bool]:
    """The health row's values for these attempts (oldest first), and whether a success ends the run."""
    latest = ordered[-1]
    successes = [n.started_at for n in ordered if n.outcome == "delivered"]
    failures = [n.started_at for n in ordered if n.outcome != "delivered"]
    after_last_success = [at for at in failures if not successes or at > successes[-1]]
    row = [
        endpoint_id,
        db_time(latest.started_at),
        latest.status_code,
        db_time(successes[-1]) if successes else None,
        db_time(failures[-1]) if failures else None,
        len(after_last_success),
    ]
    return row, bool(successes)


def _hour_rows(endpoint_id: str, notes: list[AttemptNote]) -> list[list[Any]]:
    """One row of counts per hour the attempts started in."""
    hours: dict[datetime, list[int]] = {}
    for note in notes:
        counts = hours.setdefault(hour_of(note.started_at), [0] * (len(OUTCOMES) + len(LAT_COLUMNS)))
        counts[OUTCOMES.index(note.outcome)] += 1
        counts[len(OUTCOMES) + latency_bucket(note.duration_ms)] += 1
    return [[endpoint_id, db_time(hour), *counts] for hour, counts in sorted(hours.items())]


@dataclass(frozen=True)
class Window:
    """An endpoint's last 24 hours from its hourly buckets."""

    attempts: int
    delivered: int
    retrying: int
    failed: int

    @property
    def success_rate(self) -> int | None:
        return round(100 * self.delivered / self.attempts) if self.attempts else None


def windows(*, endpoint_ids: Iterable[str], now: datetime | None = None) -> dict[str, Window]:
    """Each endpoint's outcomes over the last 24 hours: one query over at most 25 rows per endpoint."""
    since = hour_of((now or timezone.now()) - timedelta(hours=24))
    rows = (
        EndpointHour.objects.filter(endpoint_id__in=list(endpoint_ids), hour__gte=since)
        .order_by()
        .values("endpoint_id")
        .annotate(delivered_=Sum("delivered"), retrying_=Sum("retrying"), failed_=Sum("failed"))
    )
    result = {}
    for row in rows:
        delivered, retrying, failed = row["delivered_"] or 0, row["retrying_"] or 0, row["failed_"] or 0
        result[row["endpoint_id"]] = Window(delivered + retrying + failed, delivered, retrying, failed)
    return result


@dataclass(frozen=True)
class HourPoint:
    hour: datetime
    delivered: int
    retrying: int
    failed: int
    p50_ms: float | None
    p95_ms: float | None


def quantile(latencies: list[int], q: float) -> float | None:
    """A quantile of a latency histogram, interpolated linearly within its bucket."""
    total = sum(latencies)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(latencies):
        if count and seen + count >= rank:
            low = LATENCY_BOUNDS_MS[index - 1] if index else 0
            high = LATENCY_BOUNDS_MS[index] if index < len(LATENCY_BOUNDS_MS) else LATENCY_BOUNDS_MS[-1]
            return low + (high - low) * max(rank - seen, 0) / count
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


def last_day(*, endpoint_id: str, now: datetime | None = None) -> list[HourPoint]:
    """The endpoint's last 24 hours, one point per hour (empty hours included), oldest first."""
    current = hour_of(now or timezone.now())
    first = current - timedelta(hours=23)
    rows = {row.hour: row for row in EndpointHour.objects.filter(endpoint_id=endpoint_id, hour__gte=first, hour__lte=current)}
    points = []
    for offset in range(24):
        hour = first + timedelta(hours=offset)
        row = rows.get(hour)
        if row is None:
            points.append(HourPoint(hour, 0, 0, 0, None, None))
            continue
        latencies = row.latencies()
        points.append(HourPoint(hour, row.delivered, row.retrying, row.failed, quantile(latencies, 0.5), quantile(latencies, 0.95)))
    return points


def prune_hours(*, before: datetime, batch: int = 5000) -> int:
    """Remove hourly buckets older than `before` (the charts show a day), in batches; return how many went."""
    total = 0
    while True:
        ids = list(EndpointHour.objects.filter(hour__lt=before).values_list("id", flat=True)[:batch])
        if not ids:
            return total
        total += EndpointHour.objects.filter(id__in=ids).delete()[0]


def endpoint_day_chart(*, endpoint_id: str, now: datetime | None = None) -> SafeString:
    """The endpoint's last 24 hours as an inline SVG: attempts by outcome per hour, median and p95 latency."""
    points = last_day(endpoint_id=endpoint_id, now=now)
    return charts.render(
        charts.Chart(
            title="Last 24 hours: attempts by outcome per hour (bars), median and p95 latency (lines, ms)",
            x_labels=[f"{timezone.localtime(point.hour):%H:00}" for point in points],
            bars=[
                charts.Series("delivered", "#10b981", [p.delivered for p in points]),
                charts.Series("failed, retry scheduled", "#f59e0b", [p.retrying for p in points]),
                charts.Series("failed, given up", "#dc2626", [p.failed for p in points]),
            ],
            lines=[
                charts.Series("median", "#2563eb", [p.p50_ms for p in points]),
                charts.Series("p95", "#7c3aed", [p.p95_ms for p in points], dashed=True),
            ],
            bar_unit="attempts",
            line_unit=" ms",
        )
    )
