"""Fan-out in the recording transaction: filters, disabled endpoints, sequences, and thin links."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import transaction

from tests.webhooks.helpers import make_assignment, make_endpoint, make_learner
from webhooks.engine import fanout, payloads
from webhooks.models import Delivery, Endpoint, Event
from webhooks.outbox import record_event
from webhooks.services import endpoint_update

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks"


def test_only_enabled_endpoints_whose_filter_matches_get_a_delivery(tenant, allow_private):
    every = make_endpoint(tenant, URL)
    learners = make_endpoint(tenant, URL, events=["learner.created"])
    courses = make_endpoint(tenant, URL, events=["COURSE_ENROLLMENT"])
    off = make_endpoint(tenant, URL)
    endpoint_update(endpoint=off, values={"enabled": False})

    make_learner(tenant)

    assert set(Delivery.objects.values_list("endpoint_id", flat=True)) == {every.pk, learners.pk}
    make_assignment(tenant, 2)
    assert Delivery.objects.filter(endpoint=courses).count() == 1
    assert not Delivery.objects.filter(endpoint=off).exists()


def test_sequence_rises_by_one_per_endpoint(tenant, allow_private):
    first = make_endpoint(tenant, URL)
    make_learner(tenant, 1)
    second = make_endpoint(tenant, URL)
    for n in range(2, 5):
        make_learner(tenant, n)

    assert list(Delivery.objects.filter(endpoint=first).order_by("sequence").values_list("sequence", flat=True)) == [
        1,
        2,
        3,
        4,
    ]
    assert list(Delivery.objects.filter(endpoint=second).order_by("sequence").values_list("sequence", flat=True)) == [
        1,
        2,
        3,
    ]
    assert Endpoint.objects.get(pk=first.pk).sequence == 4


def test_one_event_reaches_many_endpoints_with_one_event_id(tenant, allow_private):
    endpoints = [make_endpoint(tenant, URL) for _ in range(25)]
    make_learner(tenant)
    event = Event.objects.get()
    assert Delivery.objects.filter(event=event).count() == len(endpoints)


def test_ping_is_never_fanned_out(tenant, allow_private):
    make_endpoint(tenant, URL)
    with transaction.atomic():
        record_event(tenant=tenant, event_type="webhook.ping", data={"id": "we_1", "message": "hello"})
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize(
    "subject_type, path",
    [
        ("learner", "/learners/L1"),
        ("need", "/needs/L1"),
        ("course", "/courses/L1"),
        ("webhook", "/webhooks/L1"),
    ],
)
def test_thin_document_url_per_subject_type(tenant, subject_type, path):
    url = payloads.subject_url(tenant_slug=tenant.slug, subject_type=subject_type, subject_id="L1")
    assert url == f"{settings.SKILLHUB_PUBLIC_URL}/api/v1/tenants/{tenant.slug}{path}"


def test_a_subject_type_without_a_collection_has_no_url(tenant):
    assert payloads.subject_url(tenant_slug=tenant.slug, subject_type="unknown", subject_id="x") is None
    assert payloads.subject_url(tenant_slug=tenant.slug, subject_type="learner", subject_id="") is None


def test_fan_out_beyond_one_insert_batch_reaches_every_endpoint_once(tenant, allow_private):
    endpoints = [make_endpoint(tenant, URL) for _ in range(fanout._INSERT_BATCH + 3)]
    make_learner(tenant, 1)
    make_learner(tenant, 2)

    assert Delivery.objects.count() == 2 * len(endpoints)
    assert set(Delivery.objects.values_list("sequence", flat=True)) == {1, 2}
    assert Endpoint.objects.filter(sequence=2).count() == len(endpoints)
