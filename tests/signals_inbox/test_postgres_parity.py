"""Signal ingest on PostgreSQL is one prepared statement; its portable twin must leave the same rows.

The scenario runs twice on PostgreSQL, once per path (`DATABASE_POSTGRES_STATEMENTS`), outside
pytest's wrapping transaction (the statement runs only in autocommit), and the rows are compared.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from signals_inbox.models import Need, Signal, Target
from signals_inbox.parsing import parse_signal
from signals_inbox.services import ingest
from tests.parity import statements_path
from tests.signals_inbox.factories import signal_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _send(tenant: Any, now: Any, **data: Any) -> tuple[bool, bool, str]:
    parsed = parse_signal(signal_body(**data), {})
    result = ingest.signal_ingest(tenant_id=tenant.pk, parsed=parsed, received_at=now)
    return result.deduped, result.needs_resolution, result.reason


def _scenario(tenant: Any, t0: Any) -> list[tuple[bool, bool]]:
    answers = [
        _send(tenant, t0, email="a@example.com", topic="Working at Heights", severity=3),
        _send(tenant, t0 + timedelta(seconds=1), email="a@example.com", topic="Working at Heights", severity=4),
        _send(tenant, t0 + timedelta(seconds=2), site="Site A", topic="First Aid"),
    ]
    # The first need is resolved to its worker: a re-sent data point is stored resolved (nothing left to do).
    Need.objects.filter(topic="Working at Heights").update(target=Target.WORKER, resolved_at=t0)
    answers.append(_send(tenant, t0 + timedelta(seconds=3), email="a@example.com", topic="Working at Heights"))
    # A full sync re-sends a dismissed need's data point: unchanged, it stays on the closed need; changed, a new need opens.
    answers.append(_send(tenant, t0 + timedelta(seconds=4), site="Plant 9", topic="Spill Responses", payload={"n": 1}))
    Need.objects.filter(site_name="Plant 9").update(status="dismissed", closed_at=t0 + timedelta(seconds=5))
    answers.append(_send(tenant, t0 + timedelta(seconds=6), site="plant 9", topic="spill response", payload={"n": 1}))
    answers.append(_send(tenant, t0 + timedelta(seconds=7), site="Plant 9", topic="Spill Responses", payload={"n": 2}))
    # Closed longer ago than the re-open window: the same payload opens a new need.
    Need.objects.filter(site_name="Plant 9", status="open").update(status="resolved", closed_at=t0 - timedelta(days=400))
    Need.objects.filter(site_name="Plant 9", status="dismissed").update(closed_at=t0 - timedelta(days=401))
    answers.append(_send(tenant, t0 + timedelta(seconds=8), site="Plant 9", topic="Spill Responses", payload={"n": 2}))
    return answers


def _rows() -> dict[str, Any]:
    keys = dict(Need.objects.values_list("id", "dedupe_key"))
    return {
        "needs": sorted(
            Need.objects.values_list(
                "dedupe_key", "status", "type", "topic", "topic_key", "category", "severity", "worker_ref",
                "site_name", "payload", "signal_count", "first_seen_at", "last_seen_at", "status",
            )
        ),
        "signals": sorted(
            (keys[s.need_id], s.deduped, s.event, s.type, s.received_at, s.resolved_at) for s in Signal.objects.all()
        ),
    }


def test_ingest_leaves_the_same_rows_on_both_paths(tenant, settings, monkeypatch):
    t0 = timezone.now().replace(microsecond=0)
    results = []
    for fast in (True, False):
        Signal.objects.all().delete()
        Need.objects.all().delete()
        with statements_path(settings, monkeypatch, ingest, fast=fast) as uses:
            answers = _scenario(tenant, t0)
        assert bool(uses) is fast
        results.append((answers, _rows()))

    assert results[0] == results[1]
    answers, rows = results[0]
    assert answers == [
        (False, True, ""),
        (True, True, "open_need"),
        (False, True, ""),
        (True, False, "open_need"),
        (False, True, ""),
        (True, False, "closed_need_unchanged"),
        (False, True, "closed_need_changed"),
        (False, True, "reopen_window_passed"),
    ]
    assert sorted(row[10] for row in rows["needs"]) == [1, 1, 1, 2, 3]  # signal counts
