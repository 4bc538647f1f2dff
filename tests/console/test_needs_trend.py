"""The readiness board draws how needs moved over the last 30 days, from rows a sweep keeps."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from signals_inbox.models import NeedStatus
from signals_inbox.trends import need_days_record
from signals_inbox.sweeps import count_need_days
from tests.console.factories import PASSWORD, console_user, need_row
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_board_charts_needs_opened_closed_and_still_open_per_day(client):  # noqa: ANN001
    tenant = TenantFactory(slug="acme")
    console_user(tenant, "ops")
    client.login(username="ops", password=PASSWORD)
    now = timezone.now()
    assert "appears after its first count" in client.get(reverse("admin:readiness")).content.decode()
    for n in range(3):
        need_row(tenant, topic=f"Old {n}", created_at=now - timedelta(days=40))
    need_row(tenant, topic="Closed", created_at=now - timedelta(days=10), status=NeedStatus.DISMISSED, closed_at=now - timedelta(days=2))
    for n in range(2):
        need_row(tenant, topic=f"New {n}", created_at=now - timedelta(days=2))

    assert count_need_days() == 1
    rows = {row.day: row for row in need_days_record(tenant=tenant, now=now)}

    two_days_ago = timezone.localdate(now - timedelta(days=2))
    assert (rows[two_days_ago].opened, rows[two_days_ago].closed, rows[two_days_ago].open_at_end) == (2, 1, 5)
    assert rows[timezone.localdate(now)].open_at_end == 5
    first = min(rows)
    assert rows[first].open_at_end == 3, "the three old needs were open all along"
    chart = client.get(reverse("admin:readiness")).content.decode().split('id="needs-trend"')[1].split("</svg>")[0]
    assert "<svg" in chart and f"{two_days_ago:%d %b}: 2 opened" in chart and f"{two_days_ago:%d %b}: 1 closed" in chart
