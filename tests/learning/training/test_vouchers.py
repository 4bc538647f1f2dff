"""Vouchers: redeeming enrolls; expired, used-up, unknown and repeated redemptions change nothing."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from learning.models import Assignment
from learning.training.models import Voucher, VoucherRedemption
from learning.training.services.commerce import voucher_create, voucher_redeem
from learning.training.services.paths import path_create
from skillhub.errors import ConflictError
from tests.factories import LearnerFactory
from tests.learning.training.factories import event_count, events, published_course, url

pytestmark = pytest.mark.django_db


def _redeem(api, tenant, code, learner):  # noqa: ANN001, ANN202
    return api.post(url(tenant, "vouchers/redeem"), {"code": code, "learnerId": str(learner.pk)}, format="json")


def test_redeeming_enrolls_and_records_voucher_redeemed(api, tenant):
    course = published_course(tenant)
    api.post(url(tenant, "vouchers"), {"code": "safe-2031", "courseId": str(course.pk), "usesLeft": 2}, format="json")
    learner = LearnerFactory(tenant=tenant)

    response = _redeem(api, tenant, "SAFE-2031", learner)

    assert response.status_code == 200 and response.json()["usesLeft"] == 1
    assert Assignment.objects.filter(learner=learner, course=course, source="voucher:SAFE-2031").exists()
    assert [e["usesLeft"] for e in events("voucher.redeemed", learnerId=str(learner.pk))] == [1]
    assert len(events("course.enrolled")) == 1


def test_a_path_voucher_enrolls_in_the_path_and_its_courses(api, tenant):
    courses = [published_course(tenant, f"C{i}") for i in range(2)]
    path = path_create(tenant=tenant, values={"title": "P"}, courses=courses)
    voucher_create(tenant=tenant, code="PATH", path=path)

    _redeem(api, tenant, "PATH", LearnerFactory(tenant=tenant))

    assert len(events("path.enrolled")) == 1 and len(events("course.enrolled")) == 2


@pytest.mark.parametrize(
    ("setup", "status", "reason"),
    [
        ("unknown", 404, "unknown code"),
        ("expired", 409, "expired"),
        ("used_up", 409, "used up"),
        ("again", 409, "already redeemed"),
    ],
)
def test_voucher_edge_cases_are_a_clear_4xx_and_change_nothing(api, tenant, setup, status, reason):
    course = published_course(tenant)
    learner = LearnerFactory(tenant=tenant)
    expires = timezone.now() - timedelta(minutes=1) if setup == "expired" else None
    voucher = voucher_create(tenant=tenant, code="CODE", course=course, uses_left=0 if setup == "used_up" else 3, expires_at=expires)
    if setup == "again":
        voucher_redeem(tenant=tenant, code="CODE", learner=learner)
    voucher.refresh_from_db()
    uses, redemptions, before = voucher.uses_left, VoucherRedemption.objects.count(), event_count()

    response = _redeem(api, tenant, "NOPE" if setup == "unknown" else "CODE", learner)

    assert response.status_code == status
    assert response.json()["error"]["details"]["reason"] == reason
    voucher.refresh_from_db()
    assert (voucher.uses_left, VoucherRedemption.objects.count(), event_count()) == (uses, redemptions, before)


def test_a_voucher_for_an_archived_course_refuses_and_keeps_its_use(api, tenant):
    course = published_course(tenant)
    voucher = voucher_create(tenant=tenant, code="OLD", course=course)
    api.post(url(tenant, f"courses/{course.pk}/archive"))
    before = event_count()

    response = _redeem(api, tenant, "OLD", LearnerFactory(tenant=tenant))

    voucher.refresh_from_db()
    assert response.status_code == 409 and voucher.uses_left == 1 and event_count() == before


def test_voucher_codes_are_unique_in_a_tenant(api, tenant):
    course = published_course(tenant)
    body = {"code": "DUP", "courseId": str(course.pk)}

    assert api.post(url(tenant, "vouchers"), body, format="json").status_code == 201
    assert api.post(url(tenant, "vouchers"), {**body, "code": "dup"}, format="json").status_code == 409
    assert api.post(url(tenant, "vouchers"), {"code": "X"}, format="json").status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_redemptions_of_a_one_use_voucher_succeed_once(tenant):
    course = published_course(tenant)
    voucher_create(tenant=tenant, code="ONCE", course=course, uses_left=1)
    learners = [LearnerFactory(tenant=tenant) for _ in range(20)]
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def redeem(learner) -> None:  # noqa: ANN001
        barrier.wait()
        try:
            voucher_redeem(tenant=tenant, code="ONCE", learner=learner)
            outcomes.append("ok")
        except ConflictError as exc:
            outcomes.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(learner,)) for learner in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ok") == 1 and outcomes.count("used up") == 19
    assert Voucher.objects.get(code="ONCE").uses_left == 0
    assert VoucherRedemption.objects.count() == 1 and len(events("voucher.redeemed")) == 1
    assert Assignment.objects.filter(course=course).count() == 1
