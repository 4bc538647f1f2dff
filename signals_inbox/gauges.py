"""Scrape-time gauges of the inbound side: signals waiting for resolution and how long the oldest has waited."""
from __future__ import annotations

from django.utils import timezone

from signals_inbox.models import Signal
from skillhub.metrics import Gauges, scrape_gauges


@scrape_gauges
def unresolved_signals() -> Gauges:
    """Read from the partial index of unresolved signals."""
    now = timezone.now()
    waiting = Signal.objects.filter(resolved_at__isnull=True)
    oldest = waiting.order_by("received_at").values_list("received_at", flat=True).first()
    return [
        ("skillhub_signals_unresolved", "Signals recorded but not resolved into a need yet.", waiting.count()),
        (
            "skillhub_signal_oldest_unresolved_age_seconds",
            "Age of the oldest signal not resolved yet (0 when none).",
            max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        ),
    ]
