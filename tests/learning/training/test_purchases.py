"""Purchases: fulfilling enrolls once; a second fulfilment changes and sends nothing."""
from __future__ import annotations

import pytest

from learning.models import Assignment
from learning.training.services.paths import path_create
from tests.factories import LearnerFactory
from tests.learning.training.factories import event_count, events, published_course, url

pytestmark = pytest.mark.django_db


def _purchase(api, tenant, learner, **target):  # noqa: ANN001, ANN003, ANN202
    body = {"learnerId": str(learner.pk), "externalOrderId": "ORD-1", "amount": "199.50", "currency": "zar", **target}
    return api.post(url(tenant, "purchases"), body, format="json")


def test_fulfilling_a_purchase_enrolls_and_records_purchase_fulfilled(api, tenant):
    course = published_course(tenant)
    learner = LearnerFactory(tenant=tenant)
    created = _purchase(api, tenant, learner, courseId=str(course.pk)).json()

    fulfilled = api.post(url(tenant, f"purchases/{created['id']}/fulfil"))

    assert created["status"] == "pending" and created["currency"] == "ZAR" and created["amount"] == "199.50"
    assert fulfilled.status_code == 200 and fulfilled.json()["status"] == "fulfilled"
    assert Assignment.objects.filter(learner=learner, course=course).count() == 1
    assert [(e["externalOrderId"], e["amount"]) for e in events("purchase.fulfilled")] == [("ORD-1", "199.50")]


def test_fulfilling_twice_is_idempotent(api, tenant):
    course = published_course(tenant)
    created = _purchase(api, tenant, LearnerFactory(tenant=tenant), courseId=str(course.pk)).json()
    first = api.post(url(tenant, f"purchases/{created['id']}/fulfil")).json()
    before = event_count()

    second = api.post(url(tenant, f"purchases/{created['id']}/fulfil"))

    assert second.status_code == 200 and second.json()["fulfilledAt"] == first["fulfilledAt"]
    assert event_count() == before and Assignment.objects.count() == 1


def test_a_path_purchase_fulfilled_at_creation_enrolls_in_the_path(api, tenant):
    path = path_create(tenant=tenant, values={"title": "P"}, courses=[published_course(tenant)])

    response = _purchase(api, tenant, LearnerFactory(tenant=tenant), pathId=str(path.pk), fulfil=True)

    assert response.json()["status"] == "fulfilled"
    assert len(events("path.enrolled")) == 1 and len(events("purchase.fulfilled")) == 1


def test_bad_purchases_are_refused(api, tenant):
    course = published_course(tenant)
    learner = LearnerFactory(tenant=tenant)
    _purchase(api, tenant, learner, courseId=str(course.pk))

    duplicate = _purchase(api, tenant, learner, courseId=str(course.pk))
    neither = _purchase(api, tenant, learner, externalOrderId="ORD-2")
    currency = _purchase(api, tenant, learner, courseId=str(course.pk), externalOrderId="ORD-3", currency="R1")
    negative = _purchase(api, tenant, learner, courseId=str(course.pk), externalOrderId="ORD-4", amount="-1")

    assert (duplicate.status_code, neither.status_code, currency.status_code, negative.status_code) == (409, 400, 400, 400)


def test_a_bought_path_cannot_be_deleted(api, tenant):
    path = path_create(tenant=tenant, values={"title": "P"}, courses=[published_course(tenant)])
    _purchase(api, tenant, LearnerFactory(tenant=tenant), pathId=str(path.pk))

    response = api.delete(url(tenant, f"paths/{path.pk}"))

    assert response.status_code == 409 and api.get(url(tenant, f"paths/{path.pk}")).status_code == 200
