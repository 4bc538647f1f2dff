"""Seeding a long delivery history fast (bulk inserts, no pipeline) for the history-cost and retention tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from skillhub.ids import uuid7
from webhooks.models import Attempt, Delivery, DeliveryState, Endpoint, Event


def _id_at(prefix: str, moment: datetime, n: int) -> str:
    # A time-ordered id of that moment, as the pipeline would have made then (ids sort by time).
    millis = int(moment.timestamp() * 1000)
    return f"{prefix}_{(millis << 80 | 0x7 << 76 | 0b10 << 62 | n & ((1 << 62) - 1)):032x}"


def seed_history(
    endpoint: Endpoint,
    *,
    attempts: int,
    per_delivery: int = 2,
    start: datetime | None = None,
    step: timedelta = timedelta(seconds=1),
    state: str = DeliveryState.SUCCEEDED,
) -> list[Delivery]:
    """Give the endpoint `attempts` past attempts, `per_delivery` to a delivery (the last one succeeding)."""
    start = start or timezone.now() - timedelta(days=1)
    count = max(attempts // per_delivery, 1)
    base = uuid7().int & 0xFFFF
    event_id = _id_at("evt", start - timedelta(seconds=1), base)
    Event.objects.create(id=event_id, tenant=endpoint.tenant, type="learner.created", data={"id": "x"})
    Event.objects.filter(pk=event_id).update(created_at=start)
    deliveries = [
        Delivery(
            id=_id_at("dlv", start + step * n, base + n),
            tenant_id=endpoint.tenant_id,
            event_id=event_id,
            endpoint=endpoint,
            event_type="learner.created",
            sequence=n + 1,
            state=state,
            attempt_count=per_delivery,
            delivered_at=start + step * n if state == DeliveryState.SUCCEEDED else None,
        )
        for n in range(count)
    ]
    Delivery.objects.bulk_create(deliveries, batch_size=2000)
    # created_at is set on insert; give each its moment in the past.
    Delivery.objects.filter(endpoint=endpoint, id__gte=deliveries[0].pk, id__lte=deliveries[-1].pk).update(created_at=start)
    rows = [
        Attempt(
            delivery_id=delivery.pk,
            number=k + 1,
            started_at=start + step * n,
            duration_ms=40 + k,
            status_code=200 if k == per_delivery - 1 else 500,
            succeeded=k == per_delivery - 1,
            response_body="ok" if k == per_delivery - 1 else "boom",
        )
        for n, delivery in enumerate(deliveries)
        for k in range(per_delivery)
    ]
    Attempt.objects.bulk_create(rows[:attempts], batch_size=5000)
    return deliveries
