"""Prometheus metrics: what is counted, one call per observed point, and what a scrape reads.

Every web and worker process counts in its own files under PROMETHEUS_MULTIPROC_DIR
(prometheus_client's multiprocess mode; `manage.py serve` sets it up), and a scrape of any web
process on the machine adds them all up. Without the variable (tests, a lone `runserver`) the
counts live in the process's memory. Gauges of pending work are not counted at all: a scrape
asks the database (`DatabaseCollector`), with queries whose cost does not grow with history.

Labels are bounded: a route template (never a raw path), a method, a status, an outcome, a
reason from a fixed vocabulary, a sweep's name. No tenant or endpoint id, whose number grows
with the platform.
"""
from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

from django.db import DatabaseError
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger("skillhub.webhooks.attempts")
# The `_created` series exist only without the multiprocess mode; one shape either way.
disable_created_metrics()

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0)

http_requests = Counter(
    "skillhub_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
http_duration = Histogram(
    "skillhub_http_request_duration_seconds",
    "Time from receiving a request to returning its response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
signals_received = Counter(
    "skillhub_signals_received_total",
    "Requests to the signal webhook, by outcome (new, deduplicated, rejected, unavailable) and rejection reason.",
    ["outcome", "reason"],
)
signal_resolution_lag = Histogram(
    "skillhub_signal_resolution_lag_seconds",
    "Time from a signal's receipt to its resolution into a need by a worker.",
    buckets=LAG_BUCKETS,
)
deliveries = Counter(
    "skillhub_webhook_deliveries_total",
    "Webhook delivery outcomes: each attempt is delivered, retry_scheduled or failed; "
    "deferred counts attempts whose failure opened the endpoint's circuit breaker, disabled the deliveries that disabled their endpoint.",
    ["outcome"],
)
attempt_duration = Histogram(
    "skillhub_webhook_attempt_duration_seconds",
    "Duration of one webhook POST, until the answer, the error or the timeout.",
    buckets=LATENCY_BUCKETS,
)
sweep_runs = Counter(
    "skillhub_sweep_runs_total",
    "Periodic sweep runs, by sweep and outcome (ok, error).",
    ["sweep", "outcome"],
)
sweep_last_run = Gauge(
    "skillhub_sweep_last_run_timestamp_seconds",
    "When each sweep last finished (Unix time), across every scheduler.",
    ["sweep"],
    multiprocess_mode="max",
)
sweep_duration = Gauge(
    "skillhub_sweep_duration_seconds",
    "How long each sweep's last run took.",
    ["sweep"],
    multiprocess_mode="mostrecent",
)

# A refusal's reason is the `error` code the signal webhook answered with: a word from its own
# fixed vocabulary, never text a client chose.
_REASON = re.compile(r"^[a-z][a-z_]{0,39}$")

# Functions that read scrape-time gauges from the database, registered by the apps' `gauges` modules.
Gauges = list[tuple[str, str, float]]
_GAUGE_SOURCES: list[Callable[[], Gauges]] = []
_discovered: list[bool] = []


def scrape_gauges(func: Callable[[], Gauges]) -> Callable[[], Gauges]:
    """Register a function returning (name, help, value) gauges, read at each scrape."""
    if func not in _GAUGE_SOURCES:
        _GAUGE_SOURCES.append(func)
    return func


# --- the observed points ---------------------------------------------------------------------


def http_request(*, route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    method = method if method in HTTP_METHODS else "other"
    http_requests.labels(route, method, str(status)).inc()
    http_duration.labels(route, method).observe(seconds)


def signal_answered(*, status: int, body: dict[str, Any]) -> None:
    """Count one answer of the signal webhook by what it said."""
    if status == 200:
        signals_received.labels("deduplicated" if body.get("deduped") else "new", "").inc()
    elif status >= 500:
        signals_received.labels("unavailable", "").inc()
    else:
        reason = str(body.get("error") or "")
        signals_received.labels("rejected", reason if _REASON.match(reason) else "other").inc()


def signals_resolved(*, received: Iterable[Any], now: datetime) -> None:
    """Observe the lag of signals a worker has just resolved."""
    for value in received:
        at = _aware(value)
        if at is not None:
            signal_resolution_lag.observe(max((now - at).total_seconds(), 0.0))


def delivery_attempted(
    *,
    delivery_id: str,
    endpoint_id: str,
    event_type: str,
    number: int,
    status_code: int | None,
    error: str,
    duration_ms: int,
    state: str,
) -> None:
    """Count and log one recorded attempt; `state` is the delivery's state after it."""
    if state == "succeeded":
        outcome = "delivered"
    elif state == "pending":
        outcome = "retry_scheduled"
    else:
        outcome = "failed"
    deliveries.labels(outcome).inc()
    attempt_duration.observe(duration_ms / 1000)
    logger.info(
        "delivery attempt %s",
        outcome,
        extra={
            "deliveryId": delivery_id,
            "endpointId": endpoint_id,
            "eventType": event_type,
            "attempt": number,
            "statusCode": status_code,
            "error": error[:200] or None,
            "outcome": outcome,
            "durationMs": duration_ms,
        },
    )


def circuit_opened() -> None:
    """Count an attempt without an answer that opened (or kept open) its endpoint's circuit."""
    deliveries.labels("deferred").inc()


def endpoint_disabled() -> None:
    """Count a failed delivery that disabled its endpoint."""
    deliveries.labels("disabled").inc()


def sweep_ran(*, name: str, seconds: float, ok: bool) -> None:
    sweep_runs.labels(name, "ok" if ok else "error").inc()
    sweep_last_run.labels(name).set(time.time())
    sweep_duration.labels(name).set(seconds)


def _aware(value: Any) -> datetime | None:
    # Raw rows: PostgreSQL hands back aware datetimes, SQLite naive UTC ones or text.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt_timezone.utc)


# --- the scrape ------------------------------------------------------------------------------


class DatabaseCollector:
    """Gauges of pending work, read from the database at scrape time.

    Each is one aggregate over a small table (endpoints) or a partial index of unfinished rows
    (deliveries, signals), so a scrape costs the same with ten million finished deliveries as with none.
    """

    def describe(self) -> list[Metric]:
        return []  # not probed at registration: only a scrape should run queries

    def collect(self) -> Iterator[Metric]:
        from skillhub.tasks import import_app_modules

        started = time.perf_counter()
        if not _discovered:
            import_app_modules("gauges")
            _discovered.append(True)
        gauges: Gauges = []
        up = 1.0
        try:
            for source in list(_GAUGE_SOURCES):
                gauges += source()
        except DatabaseError:
            # The processes' own counts are still worth a scrape while the database is away.
            logging.getLogger("skillhub.metrics").warning("scrape: the database did not answer", exc_info=True)
            gauges, up = [], 0.0
        for name, documentation, value in gauges:
            yield GaugeMetricFamily(name, documentation, value=value)
        yield GaugeMetricFamily("skillhub_metrics_database_up", "1 when the scrape could read the pending-work gauges.", value=up)
        yield GaugeMetricFamily(
            "skillhub_metrics_queries_seconds",
            "Time this scrape spent asking the database for the pending-work gauges.",
            value=time.perf_counter() - started,
        )


class _ThisProcess:
    """The process's own registry, when counts are not shared through files."""

    def collect(self) -> Iterator[Metric]:
        return iter(REGISTRY.collect())


def exposition(*, multiprocess_dir: str, with_database: bool = True) -> bytes:
    """Return the Prometheus text of every process (or this one) and the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir:
        MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(_ThisProcess())
    if with_database:
        registry.register(DatabaseCollector())
    return generate_latest(registry)


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """This process's current value of a sample (0 when never counted); for tests and checks."""
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


__all__: Sequence[str] = (
    "circuit_opened",
    "delivery_attempted",
    "endpoint_disabled",
    "exposition",
    "http_request",
    "signal_answered",
    "signals_resolved",
    "sweep_ran",
)
