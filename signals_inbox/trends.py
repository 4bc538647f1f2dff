"""How needs moved over the last 30 days: one row per tenant and day, kept by an hourly sweep, drawn on the board.

The readiness board reads at most 30 small rows, so it costs the same however many needs a tenant
has had; the counting happens in the background.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString

from signals_inbox.models import ACTIVE_NEED_STATUSES, Need, NeedDay
from skillhub.console import charts
from tenants.models import Tenant

DAYS = 30


def _per_day(rows: Any, key: str) -> dict[date, int]:
    return {row["day"]: row["n"] for row in rows.annotate(day=TruncDate(key)).values("day").order_by().annotate(n=Count("id"))}


def need_days_record(*, tenant: Tenant, now: datetime | None = None) -> list[NeedDay]:
    """Recount the tenant's last 30 days of needs into NeedDay rows (opened, closed, open at each day's end)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=DAYS - 1)
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    needs = Need.objects.filter(tenant=tenant)
    opened = _per_day(needs.filter(created_at__gte=since), "created_at")
    closed = _per_day(needs.filter(closed_at__gte=since), "closed_at")
    open_now = needs.filter(status__in=ACTIVE_NEED_STATUSES).count()
    rows = []
    open_at_end = open_now
    for offset in range(DAYS):
        day = today - timedelta(days=offset)
        rows.append(NeedDay(tenant=tenant, day=day, opened=opened.get(day, 0), closed=closed.get(day, 0), open_at_end=max(open_at_end, 0)))
        # Walking back a day: what opened that day was not open before it, what closed was.
        open_at_end = open_at_end - opened.get(day, 0) + closed.get(day, 0)
    NeedDay.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["tenant", "day"],
        update_fields=["opened", "closed", "open_at_end"],
    )
    NeedDay.objects.filter(tenant=tenant, day__lt=first).delete()
    return list(reversed(rows))


def need_days_chart(*, tenant: Tenant, now: datetime | None = None) -> SafeString | None:
    """The last 30 days as an inline SVG (None until the sweep has counted them once)."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=DAYS - 1)
    rows = {row.day: row for row in NeedDay.objects.filter(tenant=tenant, day__gte=first, day__lte=today)}
    if not rows:
        return None
    days = [first + timedelta(days=offset) for offset in range(DAYS)]
    return charts.render(
        charts.Chart(
            title="Needs over the last 30 days: opened and closed per day (bars), still open at each day's end (line)",
            x_labels=[f"{day:%d %b}" for day in days],
            bars=[
                charts.Series("opened", "#f59e0b", [rows[d].opened if d in rows else 0 for d in days]),
                charts.Series("closed", "#10b981", [rows[d].closed if d in rows else 0 for d in days]),
            ],
            lines=[charts.Series("still open", "#2563eb", [rows[d].open_at_end if d in rows else None for d in days])],
            bar_unit="needs per day",
            label_every=5,
        )
    )
