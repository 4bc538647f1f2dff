"""Reads of the outbound side, always scoped to a tenant; the JSON shapes the API shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from skillhub.formats import iso
from skillhub.ids import prefixed_floor
from tenants.models import Tenant
from webhooks.engine import turns as flow
from webhooks.models import Attempt, Delivery, DeliveryState, Endpoint, EndpointHour, EndpointSlot, SlotState

# Additional header values may be credentials (document 001 shows a client secret): always masked.
MASKED = "********"


def endpoint_queryset(*, tenant: Tenant) -> QuerySet[Endpoint]:
    """Return the tenant's endpoints in their stable order."""
    return Endpoint.objects.filter(tenant=tenant).order_by("id")


def is_id(value: str, prefix: str) -> bool:
    """Say whether `value` has the shape of an id with this prefix (`we`, `dlv`)."""
    # Anything else cannot exist, and some strings (NUL bytes) cannot even be sent to PostgreSQL.
    return bool(re.fullmatch(prefix + r"_[0-9a-f]{32}", str(value)))


def endpoint_get(*, tenant: Tenant, endpoint_id: str) -> Endpoint | None:
    """Return the tenant's endpoint with this id, or None (also for malformed ids)."""
    if not is_id(endpoint_id, "we"):
        return None
    return Endpoint.objects.filter(tenant=tenant, pk=endpoint_id).first()


# Waiting deliveries are counted up to this many (a bounded scan however long the backlog).
WAITING_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Flow:
    """How an endpoint's deliveries are moving, and whether (and why) they are held back."""

    max_in_flight: int
    in_flight: int
    waiting: int
    consecutive_failures: int
    circuit: str  # closed | open | probing
    next_probe_at: datetime | None
    held_back_reason: str | None  # disabled | circuit_open | probing | at_capacity
    held_back_message: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "inFlight": self.in_flight,
            "waiting": self.waiting,
            "consecutiveFailures": self.consecutive_failures,
            "circuit": self.circuit,
            "nextProbeAt": iso(self.next_probe_at) if self.next_probe_at else None,
            "heldBack": self.held_back_reason is not None,
            "heldBackReason": self.held_back_reason,
            "heldBackMessage": self.held_back_message,
        }


def endpoint_flows(*, tenant: Tenant, endpoints: list[Endpoint], now: datetime | None = None) -> dict[str, Flow]:
    """Return each of the tenant's endpoints' Flow: a query for the slots, a bounded count per endpoint."""
    return _flows([endpoint for endpoint in endpoints if endpoint.tenant_id == tenant.pk], now=now or timezone.now())


def _flows(endpoints: list[Endpoint], *, now: datetime) -> dict[str, Flow]:
    ids = [endpoint.pk for endpoint in endpoints]
    in_flight = dict(
        EndpointSlot.objects.filter(endpoint_id__in=ids, state=SlotState.SENDING, leased_until__gte=now)
        .values_list("endpoint_id")
        .annotate(n=Count("id"))
        .values_list("endpoint_id", "n")
    )
    flows = {}
    for endpoint in endpoints:
        waiting = (
            Delivery.objects.filter(
                endpoint_id=endpoint.pk, state=DeliveryState.PENDING, is_ping=False, next_attempt_at__lte=now
            )
            .values("id")[:WAITING_COUNT_LIMIT]
            .count()
        )
        flows[endpoint.pk] = _flow(endpoint, in_flight=in_flight.get(endpoint.pk, 0), waiting=waiting, now=now)
    return flows


def endpoint_flow(*, tenant: Tenant, endpoint: Endpoint) -> Flow:
    """Return one endpoint's Flow (see endpoint_flows)."""
    return endpoint_flows(tenant=tenant, endpoints=[endpoint])[endpoint.pk]


def held_back_endpoints(*, tenant: Tenant) -> QuerySet[Endpoint]:
    """The tenant's enabled endpoints whose circuit breaker holds deliveries back (open or probing)."""
    return endpoint_queryset(tenant=tenant).filter(
        enabled=True, consecutive_failures__gte=settings.WEBHOOKS_BREAKER_THRESHOLD
    )


def _flow(endpoint: Endpoint, *, in_flight: int, waiting: int, now: datetime) -> Flow:
    cap = endpoint.max_in_flight or flow.default_cap()
    tripped = endpoint.consecutive_failures >= settings.WEBHOOKS_BREAKER_THRESHOLD
    open_until = endpoint.circuit_open_until
    circuit = "closed" if not tripped else ("open" if open_until and open_until > now else "probing")
    reason = message = None
    if not endpoint.enabled:
        reason, message = "disabled", endpoint.deactivate_reason or "The endpoint is disabled"
    elif circuit == "open":
        reason = "circuit_open"
        message = f"{endpoint.circuit_reason}; deliveries wait until a probe at {iso(open_until)}"
    elif circuit == "probing":
        reason = "probing"
        message = f"{endpoint.circuit_reason}; one delivery at a time until the receiver answers"
    elif waiting and in_flight >= cap:
        reason = "at_capacity"
        message = f"{in_flight} deliveries in flight (the endpoint's limit); {waiting} waiting in sequence order"
    return Flow(
        max_in_flight=cap,
        in_flight=in_flight,
        waiting=waiting,
        consecutive_failures=endpoint.consecutive_failures,
        circuit=circuit,
        next_probe_at=open_until if tripped else None,
        held_back_reason=reason,
        held_back_message=message,
    )


def endpoint_json(endpoint: Endpoint, *, with_secret: bool = False, flow_state: Flow | None = None) -> dict[str, Any]:
    """Return the API representation of an endpoint; the secret only when just created or rotated."""
    flow_state = flow_state or _flows([endpoint], now=timezone.now())[endpoint.pk]
    body: dict[str, Any] = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.events or []),
        "enabled": endpoint.enabled,
        "deactivateReason": endpoint.deactivate_reason or None,
        "description": endpoint.description,
        "payloadStyle": endpoint.payload_style,
        "retryPolicy": endpoint.retry_policy,
        "sendSecretHeader": endpoint.send_secret_header,
        "basicAuthUsername": endpoint.basic_auth_username or None,
        "basicAuthPasswordSet": bool(endpoint.basic_auth_password),
        "additionalHeaders": {name: MASKED for name in (endpoint.additional_headers or {})},
        "secretRotationEndsAt": iso(endpoint.previous_secret_expires_at) if endpoint.previous_secret else None,
        "lastSequence": endpoint.sequence,
        "maxInFlight": flow_state.max_in_flight,
        "flow": flow_state.as_json(),
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
    }
    if with_secret:
        body["secret"] = endpoint.secret
    return body


def delivery_queryset(
    *, tenant: Tenant, endpoint: Endpoint, state: str | None = None, event_type: str | None = None
) -> QuerySet[Delivery]:
    """Return an endpoint's deliveries, oldest first, optionally of one state or event type."""
    queryset = Delivery.objects.filter(tenant=tenant, endpoint=endpoint).order_by("id")
    if state:
        queryset = queryset.filter(state=state)
    if event_type:
        queryset = queryset.filter(event_type=event_type)
    return queryset


# An endpoint's deliveries are counted up to this many: the count is a bounded index range,
# however long the history; beyond it the log says the total is at least this.
DELIVERY_COUNT_LIMIT = 10_000


def delivery_total(*, endpoint: Endpoint, state: str | None = None, event_type: str | None = None) -> tuple[int, bool]:
    """Count an endpoint's delivery log up to DELIVERY_COUNT_LIMIT; return the count and whether it is exact.

    The endpoint is already the caller's tenant's; ordering by id keeps PostgreSQL on the
    (endpoint, id) index instead of scanning the table for the first matches.
    """
    queryset = Delivery.objects.filter(endpoint_id=endpoint.pk)
    if state:
        queryset = queryset.filter(state=state)
    if event_type:
        queryset = queryset.filter(event_type=event_type)
    count = queryset.order_by("id").values("id")[: DELIVERY_COUNT_LIMIT + 1].count()
    return min(count, DELIVERY_COUNT_LIMIT), count <= DELIVERY_COUNT_LIMIT


@dataclass
class LogPage:
    """A page of an endpoint's delivery log, newest first, and where the next pages start."""

    rows: list[Delivery]
    older: str | None  # the `before` of the next older page
    newer: str | None  # the `after` of the next newer page


# The log's status filter: a delivery state, or "retrying" (pending after a failed attempt).
LOG_STATUSES = ("succeeded", "failed", "retrying", "pending", "sending")


@dataclass(frozen=True)
class LogFilter:
    """What the delivery log shows: one status, one event type, a time window, or one event or delivery id."""

    status: str = ""
    event_type: str = ""
    since: datetime | None = None
    until: datetime | None = None
    search: str = ""

    def apply(self, queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
        if self.status == "retrying":
            queryset = queryset.filter(state=DeliveryState.PENDING, attempt_count__gt=0)
        elif self.status in DeliveryState.values:
            queryset = queryset.filter(state=self.status)
        if self.event_type:
            queryset = queryset.filter(event_type=self.event_type)
        # Ids are time-ordered: a time window is an id range on the (endpoint, id) index.
        if self.since is not None:
            queryset = queryset.filter(id__gte=prefixed_floor("dlv", self.since))
        if self.until is not None:
            queryset = queryset.filter(id__lt=prefixed_floor("dlv", self.until))
        search = self.search.strip()
        if is_id(search, "dlv"):
            queryset = queryset.filter(id=search)
        elif is_id(search, "evt"):
            # An event's deliveries are made when it is recorded: look from its own time on.
            made = id_time(search)
            queryset = queryset.filter(event_id=search, id__gte=prefixed_floor("dlv", made - timedelta(seconds=5)))
        elif search:
            queryset = queryset.none()
        return queryset


def id_time(value: str) -> datetime:
    """Return the moment a time-ordered prefixed id (`evt_…`, `dlv_…`) was made."""
    millis = int(value.split("_", 1)[1][:12], 16)
    return datetime.fromtimestamp(millis / 1000, tz=dt_timezone.utc)


def delivery_log(
    *,
    tenant: Tenant,
    endpoint: Endpoint,
    before: str | None = None,
    after: str | None = None,
    limit: int = 50,
    filters: LogFilter | None = None,
) -> LogPage:
    """Return one page of the endpoint's delivery log, newest first, by keyset: the same cost at any depth."""
    queryset = (filters or LogFilter()).apply(Delivery.objects.filter(tenant=tenant, endpoint=endpoint))
    if after and is_id(after, "dlv"):
        rows = list(queryset.filter(id__gt=after).order_by("id")[: limit + 1])
        more_newer = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        return LogPage(rows=rows, older=rows[-1].pk if rows else None, newer=rows[0].pk if rows and more_newer else None)
    if before and is_id(before, "dlv"):
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset.order_by("-id")[: limit + 1])
    more_older = len(rows) > limit
    rows = rows[:limit]
    return LogPage(
        rows=rows,
        older=rows[-1].pk if rows and more_older else None,
        newer=rows[0].pk if rows and before and is_id(before, "dlv") else None,
    )


def delivery_get(*, tenant: Tenant, delivery_id: str) -> Delivery | None:
    """Return the tenant's delivery with this id, or None (also for malformed ids)."""
    if not is_id(delivery_id, "dlv"):
        return None
    return Delivery.objects.select_related("endpoint").filter(tenant=tenant, pk=delivery_id).first()


def attempts_by_delivery(*, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
    """Return the attempts of a page of deliveries, in one query, each numbered in the order it was made.

    `Attempt.number` counts within a retry cycle (a retry or replay starts again at 1, which is what
    the backoff schedule needs); `ordinal` counts every attempt of the delivery, as people read them.
    """
    grouped: dict[str, list[Attempt]] = {}
    for attempt in Attempt.objects.filter(delivery_id__in=delivery_ids).order_by("id"):
        attempts = grouped.setdefault(attempt.delivery_id, [])
        attempt.ordinal = len(attempts) + 1  # type: ignore[attr-defined]
        attempts.append(attempt)
    return grouped


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    """Return the API representation of one attempt."""
    return {
        "number": getattr(attempt, "ordinal", attempt.number),
        "at": iso(attempt.started_at),
        "succeeded": attempt.succeeded,
        "statusCode": attempt.status_code,
        "durationMs": attempt.duration_ms,
        "error": attempt.error or None,
        "responseBody": attempt.response_body,
    }


def delivery_json(delivery: Delivery, attempts: list[Attempt] | None = None) -> dict[str, Any]:
    """Return the API representation of a delivery with its attempts."""
    return {
        "id": delivery.pk,
        "endpointId": delivery.endpoint_id,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "sequence": delivery.sequence,
        "status": delivery.state,
        # Every attempt made, retries and replays included (the attempts listed beside it).
        "attemptCount": len(attempts) if attempts is not None else delivery.attempt_count,
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error or None,
        "deliveredAt": iso(delivery.delivered_at),
        "isPing": delivery.is_ping,
        "createdAt": iso(delivery.created_at),
        "attempts": [attempt_json(attempt) for attempt in attempts or []],
    }


def endpoint_health_annotations(*, now: Any) -> dict[str, Any]:
    """Return queryset annotations of each endpoint's health: last attempt, success over 24 h, failures in a row.

    Read from the rows webhooks/health.py keeps as attempts happen (a join on the endpoint's key
    and at most 25 hourly buckets), never from the endpoint's history of attempts.
    """
    from django.db.models import F, IntegerField, OuterRef, Subquery, Sum
    from django.db.models.functions import Coalesce

    from webhooks.health import hour_of

    hours = EndpointHour.objects.filter(endpoint=OuterRef("pk"), hour__gte=hour_of(now - timedelta(hours=23))).order_by()

    def summed(expression: Any) -> Subquery:
        return Subquery(
            hours.values("endpoint").annotate(n=Sum(expression)).values("n")[:1], output_field=IntegerField()
        )

    return {
        "last_attempt_at": F("health_row__last_attempt_at"),
        "last_attempt_status": F("health_row__last_status_code"),
        "attempts_24h": Coalesce(summed(F("delivered") + F("retrying") + F("failed")), 0),
        "succeeded_24h": Coalesce(summed(F("delivered")), 0),
        "failures_in_a_row": Coalesce(F("health_row__failures_in_a_row"), 0),
    }
