"""Classes and class enrollments: document 002 codes, one transition table, capacity and the waitlist."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from learning.training.models import ClassEnrollment, TrainingClass
from learning.training.statuses import TRANSITIONS, ClassStatus, EnrollmentStatus
from tests.factories import LearnerFactory
from tests.learning.training.factories import event_count, events, published_course, training_class, url

pytestmark = pytest.mark.django_db

ILLEGAL_CLASS = [(old, new) for old in ClassStatus for new in ClassStatus if new != old and new not in TRANSITIONS[ClassStatus][old]]
ILLEGAL_ENROLLMENT = [
    (old, new) for old in EnrollmentStatus for new in EnrollmentStatus if new != old and new not in TRANSITIONS[EnrollmentStatus][old]
]


def _enroll(api, tenant, klass, learner=None, **body):  # noqa: ANN001, ANN003, ANN202
    learner = learner or LearnerFactory(tenant=tenant)
    return api.post(url(tenant, "class-enrollments"), {"classId": str(klass.pk), "learnerId": str(learner.pk), **body}, format="json")


def test_creating_a_class_records_its_first_status(api, tenant):
    course = published_course(tenant)
    starts = timezone.now() + timedelta(days=2)

    response = api.post(
        url(tenant, "classes"),
        {"courseId": str(course.pk), "startsAt": starts.isoformat(), "endsAt": (starts + timedelta(hours=1)).isoformat(), "status": "Tentative"},
        format="json",
    )

    assert response.status_code == 201 and response.json()["status"] == {"code": 4, "name": "Tentative"}
    assert [(e["status"], e["previousStatus"]) for e in events("class.status_changed")] == [({"code": 4, "name": "Tentative"}, None)]


def test_a_legal_class_transition_records_old_and_new_status(api, tenant):
    klass = training_class(tenant)

    response = api.post(url(tenant, f"classes/{klass.pk}/status"), {"status": 1}, format="json")

    assert response.status_code == 200 and response.json()["status"] == {"code": 1, "name": "Guaranteed To Run"}
    changed = events("class.status_changed", id=str(klass.pk))[-1]
    assert changed["previousStatus"] == {"code": 0, "name": "Scheduled"} and changed["status"]["code"] == 1


@pytest.mark.parametrize(("old", "new"), ILLEGAL_CLASS, ids=[f"{o.label}->{n.label}" for o, n in ILLEGAL_CLASS])
def test_each_illegal_class_transition_is_a_400_naming_both_states(api, tenant, old, new):
    klass = training_class(tenant)
    TrainingClass.objects.filter(pk=klass.pk).update(status=old)
    before = event_count()

    response = api.post(url(tenant, f"classes/{klass.pk}/status"), {"status": int(new)}, format="json")

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert f"{old.label} ({int(old)})" in message and f"{new.label} ({int(new)})" in message
    assert TrainingClass.objects.get(pk=klass.pk).status == old and event_count() == before


@pytest.mark.parametrize(("old", "new"), ILLEGAL_ENROLLMENT, ids=[f"{o.label}->{n.label}" for o, n in ILLEGAL_ENROLLMENT])
def test_each_illegal_enrollment_transition_is_a_400_naming_both_states(api, tenant, old, new):
    enrollment = ClassEnrollment.objects.get(pk=_enroll(api, tenant, training_class(tenant)).json()["id"])
    ClassEnrollment.objects.filter(pk=enrollment.pk).update(status=old)
    before = event_count()

    response = api.post(url(tenant, f"class-enrollments/{enrollment.pk}/status"), {"status": new.label}, format="json")

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert f"{old.label} ({int(old)})" in message and f"{new.label} ({int(new)})" in message
    assert ClassEnrollment.objects.get(pk=enrollment.pk).status == old and event_count() == before


def test_a_full_class_waitlists_and_a_cancellation_promotes_the_first_waiting(api, tenant):
    klass = training_class(tenant, capacity=1)
    seated = _enroll(api, tenant, klass).json()
    first_waiting = _enroll(api, tenant, klass).json()
    second_waiting = _enroll(api, tenant, klass).json()

    assert seated["status"]["code"] == 60
    assert first_waiting["status"] == {"code": 20, "name": "Waitlist"} and second_waiting["status"]["code"] == 20

    api.post(url(tenant, f"class-enrollments/{seated['id']}/status"), {"status": "Cancel"}, format="json")

    statuses = {e.pk.hex: e.status for e in ClassEnrollment.objects.all()}
    assert statuses[first_waiting["id"].replace("-", "")] == EnrollmentStatus.ENROLL
    assert statuses[second_waiting["id"].replace("-", "")] == EnrollmentStatus.WAITLIST
    promoted = events("enrollment.status_changed", id=first_waiting["id"])[-1]
    assert promoted["previousStatus"] == {"code": 20, "name": "Waitlist"} and promoted["status"] == {"code": 60, "name": "Enroll"}


def test_approving_into_a_full_class_is_refused(api, tenant):
    klass = training_class(tenant, capacity=1)
    _enroll(api, tenant, klass)
    requested = _enroll(api, tenant, klass, status="Request").json()
    before = event_count()

    response = api.post(url(tenant, f"class-enrollments/{requested['id']}/status"), {"status": 30}, format="json")

    assert response.status_code == 409 and event_count() == before


def test_more_seats_promote_the_waitlist(api, tenant):
    klass = training_class(tenant, capacity=0)
    waiting = _enroll(api, tenant, klass).json()

    api.patch(url(tenant, f"classes/{klass.pk}"), {"capacity": 1}, format="json")

    assert ClassEnrollment.objects.get(pk=waiting["id"]).status == EnrollmentStatus.ENROLL


def test_cancelling_a_class_cancels_its_enrollments(api, tenant):
    klass = training_class(tenant)
    enrollment = _enroll(api, tenant, klass).json()

    api.post(url(tenant, f"classes/{klass.pk}/status"), {"status": "Cancelled"}, format="json")

    assert ClassEnrollment.objects.get(pk=enrollment["id"]).status == EnrollmentStatus.CANCEL
    assert _enroll(api, tenant, klass).status_code == 409


def test_new_times_reschedule_a_scheduled_class(api, tenant):
    klass = training_class(tenant)
    later = klass.starts_at + timedelta(days=1)

    response = api.patch(
        url(tenant, f"classes/{klass.pk}"), {"startsAt": later.isoformat(), "endsAt": (later + timedelta(hours=2)).isoformat()}, format="json"
    )

    assert response.json()["status"] == {"code": 3, "name": "Rescheduled"}


def test_a_learner_is_enrolled_in_a_class_once(api, tenant):
    klass = training_class(tenant)
    learner = LearnerFactory(tenant=tenant)

    assert _enroll(api, tenant, klass, learner).status_code == 201
    assert _enroll(api, tenant, klass, learner).status_code == 409


def test_unknown_status_names_are_a_400(api, tenant):
    klass = training_class(tenant)

    for status in ("Postponed", 8, -1, None, True):
        assert api.post(url(tenant, f"classes/{klass.pk}/status"), {"status": status}, format="json").status_code == 400


def test_classes_filter_by_status_code(api, tenant):
    one, two = training_class(tenant), training_class(tenant)
    api.post(url(tenant, f"classes/{two.pk}/status"), {"status": 2}, format="json")

    listed = api.get(url(tenant, "classes"), {"status": 2}).json()

    assert [c["id"] for c in listed["data"]] == [str(two.pk)] and str(one.pk) != str(two.pk)
