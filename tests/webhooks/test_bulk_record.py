"""Recording many events at once: the same checked data, numbered deliveries and enqueue-on-commit as one by one."""
from __future__ import annotations

import pytest
from django.db import transaction

from learning.events import assignment_expired_data
from tests.webhooks.helpers import make_assignment, make_endpoint
from webhooks.contract.schema import EventDataMismatch
from webhooks.models import Delivery, Event
from webhooks.outbox import record_event, record_events

pytestmark = pytest.mark.django_db


def test_bulk_events_get_deliveries_numbered_after_single_ones(tenant, allow_private):
    assignments = [make_assignment(tenant, n) for n in range(3)]
    Event.objects.all().delete()
    everything = make_endpoint(tenant, "http://127.0.0.1:9/all")
    only_expired = make_endpoint(tenant, "http://127.0.0.1:9/expired", events=["assignment.expired"])
    make_endpoint(tenant, "http://127.0.0.1:9/other", events=["learner.created"])
    with transaction.atomic():
        record_event(tenant=tenant, event_type="assignment.expired", data=assignment_expired_data(assignments[0]))
        before = {e.pk: e.sequence for e in type(everything).objects.all()}
        events = record_events(
            tenant=tenant,
            event_type="assignment.expired",
            items=[(assignment_expired_data(a), "assignment", str(a.pk)) for a in assignments],
        )

    assert len(events) == 3 and Event.objects.count() == 4
    for endpoint in (everything, only_expired):
        sequences = sorted(Delivery.objects.filter(endpoint=endpoint).values_list("sequence", flat=True))
        assert sequences == list(range(1, 5)) and before[endpoint.pk] == 1
    assert set(Delivery.objects.values_list("endpoint_id", flat=True)) == {everything.pk, only_expired.pk}
    assert {e.subject_id for e in events} == {str(a.pk) for a in assignments}


def test_bulk_data_that_breaks_the_schema_writes_nothing(tenant):
    assignment = make_assignment(tenant)
    broken = {**assignment_expired_data(assignment), "reason": "bored"}
    before = Event.objects.count()

    with pytest.raises(EventDataMismatch), transaction.atomic():
        record_events(tenant=tenant, event_type="assignment.expired", items=[(broken, "assignment", str(assignment.pk))])

    assert Event.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_bulk_recording_needs_a_transaction(tenant):
    with pytest.raises(RuntimeError):
        record_events(tenant=tenant, event_type="assignment.expired", items=[({}, "assignment", "x")])
