"""Classes (scheduled sessions of a course) and class enrollments: one transition table, capacity and the waitlist."""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from learning.models import Course, Learner
from learning.training.events import class_status_changed_data, enrollment_status_changed_data
from learning.training.models import ClassEnrollment, TrainingClass
from learning.training.services.common import clean_text, record, same_tenant
from learning.training.statuses import (
    LIVE_ENROLLMENT,
    OPEN_CLASS,
    SEATED,
    ClassStatus,
    EnrollmentStatus,
    check_initial,
    check_transition,
    label,
)
from skillhub.errors import ConflictError, NotFoundError, ValidationFailed
from tenants.models import Tenant

_TEXT = {"title": 200, "location": 300, "link": 1000, "instructor": 200}
_TIMES_CHANGE_TO_RESCHEDULED = (ClassStatus.SCHEDULED, ClassStatus.GUARANTEED_TO_RUN, ClassStatus.TENTATIVE)


def _check_times(starts_at: Any, ends_at: Any) -> None:
    if starts_at is None or ends_at is None:
        raise ValidationFailed({"starts_at" if starts_at is None else "ends_at": "This field is required"})
    if ends_at <= starts_at:
        raise ValidationFailed({"ends_at": "must be after startsAt"})


def _check_capacity(capacity: Any) -> None:
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0):
        raise ValidationFailed({"capacity": "a whole number of seats, or null for no limit"})


def _record_class(training_class: TrainingClass, previous: int | None) -> None:
    data = class_status_changed_data(training_class, previous=previous)
    record(tenant=training_class.tenant, event_type="class.status_changed", data=data, subject_type="class")


def _record_enrollment(enrollment: ClassEnrollment, previous: int | None) -> None:
    data = enrollment_status_changed_data(enrollment, previous=previous)
    record(tenant=enrollment.tenant, event_type="enrollment.status_changed", data=data, subject_type="class_enrollment")


@transaction.atomic
def class_create(*, tenant: Tenant, course: Course, values: dict[str, Any]) -> TrainingClass:
    """Schedule a class of a course (`class.status_changed` from none to its first status)."""
    if not same_tenant(tenant, course):
        raise NotFoundError("Course not found")
    values = clean_text(values, _TEXT)
    status = values.pop("status", ClassStatus.SCHEDULED)
    check_initial(ClassStatus, status)
    _check_times(values.get("starts_at"), values.get("ends_at"))
    _check_capacity(values.get("capacity"))
    training_class = TrainingClass.objects.create(tenant=tenant, course=course, status=status, **values)
    _record_class(training_class, None)
    return training_class


def _lock_class(training_class: TrainingClass) -> TrainingClass:
    return TrainingClass.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=training_class.pk)


def class_update(*, training_class: TrainingClass, values: dict[str, Any]) -> TrainingClass:
    """Change a class's details; new times on a scheduled class make it Rescheduled; more seats promote the waitlist."""
    values = clean_text(values, _TEXT)
    if "status" in values:
        raise ValidationFailed({"status": "change the status with POST …/classes/{id}/status"})
    with transaction.atomic():
        locked = _lock_class(training_class)
        times_changed = any(f in values and values[f] != getattr(locked, f) for f in ("starts_at", "ends_at"))
        for field, value in values.items():
            setattr(locked, field, value)
        _check_times(locked.starts_at, locked.ends_at)
        _check_capacity(locked.capacity)
        locked.save()
        if times_changed and locked.status in _TIMES_CHANGE_TO_RESCHEDULED:
            _set_class_status(locked, ClassStatus.RESCHEDULED)
        if locked.status in OPEN_CLASS:
            _promote_waiting(locked)
    return locked


def _set_class_status(training_class: TrainingClass, new: int) -> None:
    previous = training_class.status
    check_transition(ClassStatus, previous, new)
    training_class.status = new
    training_class.save(update_fields=["status", "updated_at"])
    _record_class(training_class, previous)
    if new in (ClassStatus.CANCELLED, ClassStatus.DENIED):
        # Nobody can attend a class that will not run: every live enrollment is cancelled.
        for enrollment in ClassEnrollment.objects.select_related("tenant").filter(
            training_class=training_class, status__in=sorted(LIVE_ENROLLMENT)
        ):
            _move(enrollment, EnrollmentStatus.CANCEL)


def class_set_status(*, training_class: TrainingClass, status: int) -> TrainingClass:
    """Move a class to a new status by the transition table; an illegal move is a 400 that changes nothing."""
    with transaction.atomic():
        locked = _lock_class(training_class)
        if locked.status != status:
            _set_class_status(locked, status)
    return locked


def class_delete(*, training_class: TrainingClass) -> None:
    """Delete a class that has no live enrollments (cancel it otherwise)."""
    if ClassEnrollment.objects.filter(training_class=training_class, status__in=sorted(LIVE_ENROLLMENT)).exists():
        raise ConflictError("The class has live enrollments: cancel it instead", field="status", reason="live enrollments")
    training_class.delete()


def _seats_taken(training_class: TrainingClass) -> int:
    return ClassEnrollment.objects.filter(training_class=training_class, status__in=sorted(SEATED)).count()


def _has_seat(training_class: TrainingClass) -> bool:
    return training_class.capacity is None or _seats_taken(training_class) < training_class.capacity


def _move(enrollment: ClassEnrollment, new: int) -> None:
    previous = enrollment.status
    enrollment.status = new
    enrollment.waitlisted_at = timezone.now() if new == EnrollmentStatus.WAITLIST else enrollment.waitlisted_at
    enrollment.save(update_fields=["status", "waitlisted_at", "updated_at"])
    _record_enrollment(enrollment, previous)


def _promote_waiting(training_class: TrainingClass) -> None:
    """Enroll the first waiting learners while seats are free."""
    waiting = ClassEnrollment.objects.select_related("tenant").filter(
        training_class=training_class, status=EnrollmentStatus.WAITLIST
    ).order_by("waitlisted_at", "id")
    for enrollment in waiting:
        if not _has_seat(training_class):
            return
        _move(enrollment, EnrollmentStatus.ENROLL)


def enrollment_create(
    *, tenant: Tenant, training_class: TrainingClass, learner: Learner, status: int = EnrollmentStatus.ENROLL
) -> ClassEnrollment:
    """Enroll a learner in a class (or request a place); a full class puts them on the waitlist."""
    if not same_tenant(tenant, training_class, learner):
        raise NotFoundError("Class or learner not found")
    check_initial(EnrollmentStatus, status)
    try:
        with transaction.atomic():
            locked = _lock_class(training_class)
            if locked.status not in OPEN_CLASS:
                raise ConflictError(
                    f"The class is {label(ClassStatus, locked.status)} and takes no enrollments", field="class_id", reason="class not open"
                )
            if status in SEATED and not _has_seat(locked):
                status = EnrollmentStatus.WAITLIST
            enrollment = ClassEnrollment.objects.create(
                tenant=tenant,
                training_class=locked,
                learner=learner,
                status=status,
                waitlisted_at=timezone.now() if status == EnrollmentStatus.WAITLIST else None,
            )
            _record_enrollment(enrollment, None)
    except IntegrityError as exc:
        raise ConflictError("The learner is already enrolled in this class", field="learner_id", reason="already enrolled") from exc
    return enrollment


def enrollment_set_status(*, enrollment: ClassEnrollment, status: int) -> ClassEnrollment:
    """Move an enrollment by the transition table; a seat freed by cancelling goes to the first waiting learner."""
    with transaction.atomic():
        training_class = _lock_class(enrollment.training_class)
        locked = ClassEnrollment.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=enrollment.pk)
        if locked.status == status:
            return locked
        check_transition(EnrollmentStatus, locked.status, status)
        if status in SEATED and locked.status not in SEATED:
            if training_class.status not in OPEN_CLASS:
                raise ConflictError(f"The class is {label(ClassStatus, training_class.status)}", field="status", reason="class not open")
            if not _has_seat(training_class):
                raise ConflictError(
                    f"The class is full ({training_class.capacity} seats): the learner stays {label(EnrollmentStatus, locked.status)}",
                    field="status",
                    reason="class full",
                )
        freed = locked.status in SEATED and status not in SEATED
        _move(locked, status)
        if freed and training_class.status in OPEN_CLASS:
            _promote_waiting(training_class)
    return locked
