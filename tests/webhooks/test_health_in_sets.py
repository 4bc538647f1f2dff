"""A worker's turn counts its attempts in the endpoint's health in one write: the same counts as one by one."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from tests.webhooks.helpers import make_endpoint
from webhooks import health
from webhooks.health import AttemptNote
from webhooks.models import EndpointHealth, EndpointHour

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 3, 2, 9, 59, 58, tzinfo=dt_timezone.utc)


def _notes(endpoint_id: str, outcomes: list[str]) -> list[AttemptNote]:
    return [
        AttemptNote(endpoint_id, T0 + timedelta(seconds=n), 20 * n, 200 if outcome == "delivered" else 500, outcome)
        for n, outcome in enumerate(outcomes)
    ]


def _state(endpoint_id: str) -> tuple:
    row = EndpointHealth.objects.get(endpoint_id=endpoint_id)
    hours = list(EndpointHour.objects.filter(endpoint_id=endpoint_id).order_by("hour").values_list(
        "hour", "delivered", "retrying", "failed", *health.LAT_COLUMNS
    ))  # fmt: skip
    return (row.last_attempt_at, row.last_status_code, row.last_success_at, row.last_failure_at, row.failures_in_a_row, hours)


@pytest.mark.parametrize(
    "batches",
    [
        [["retrying", "delivered", "retrying", "failed"]],
        [["retrying", "retrying"], ["retrying"]],
        [["delivered"], ["retrying", "retrying", "delivered", "retrying"]],
    ],
)
def test_a_set_of_attempts_counts_as_the_same_attempts_one_by_one(tenant, receiver, allow_private, batches):
    one_by_one = make_endpoint(tenant, f"{receiver.url}/one")
    in_sets = make_endpoint(tenant, f"{receiver.url}/sets")
    for outcomes in batches:
        for note in _notes(one_by_one.pk, outcomes):
            health.note_attempts([note])
        health.note_attempts(_notes(in_sets.pk, outcomes))

    assert _state(in_sets.pk) == _state(one_by_one.pk)


def test_attempts_across_an_hour_fill_both_hours(tenant, receiver, allow_private):
    endpoint = make_endpoint(tenant, receiver.url)
    health.note_attempts(_notes(endpoint.pk, ["delivered", "delivered", "retrying", "delivered"]))

    hours = _state(endpoint.pk)[5]
    assert [(h[0].hour, h[1], h[2]) for h in hours] == [(9, 2, 0), (10, 1, 1)]
    assert _state(endpoint.pk)[4] == 0
