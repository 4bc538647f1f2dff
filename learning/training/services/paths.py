"""Learning paths: ordered courses, enrolling a learner in the path and its courses, completing the path."""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from learning.models import Assignment, AssignmentStatus, Course, CourseStatus, Learner
from learning.services import assignment_create
from learning.training.events import path_enrollment_data
from learning.training.models import LearningPath, PathCourse, PathEnrollment
from learning.training.services.common import clean_text, record, same_tenant
from learning.training.services.engagement import achievements_award_for
from skillhub.errors import ConflictError, NotFoundError, ValidationFailed
from tenants.models import Tenant

_TEXT = {"title": 200, "description": 0}


def _set_courses(path: LearningPath, courses: list[Course]) -> None:
    if len({c.pk for c in courses}) != len(courses):
        raise ValidationFailed({"course_ids": "a course may appear once in a path"})
    PathCourse.objects.filter(path=path).delete()
    PathCourse.objects.bulk_create([PathCourse(path=path, course=c, position=i) for i, c in enumerate(courses)])


@transaction.atomic
def path_create(*, tenant: Tenant, values: dict[str, Any], courses: list[Course]) -> LearningPath:
    """Create a path of these courses, in this order."""
    if not same_tenant(tenant, *courses):
        raise NotFoundError("Course not found")
    values = clean_text(values, _TEXT, required=("title",))
    if not values.get("title"):
        raise ValidationFailed({"title": "This field is required"})
    path = LearningPath.objects.create(tenant=tenant, **values)
    _set_courses(path, courses)
    return path


@transaction.atomic
def path_update(*, path: LearningPath, values: dict[str, Any], courses: list[Course] | None = None) -> LearningPath:
    """Change a path's title, description or courses (enrollments already completed stay completed)."""
    if courses is not None and not same_tenant(path.tenant, *courses):
        raise NotFoundError("Course not found")
    for field, value in clean_text(values, _TEXT, required=("title",)).items():
        setattr(path, field, value)
    path.save()
    if courses is not None:
        _set_courses(path, courses)
    return path


def path_delete(*, path: LearningPath) -> None:
    """Delete a path and its enrollments (the course assignments stay); a path someone bought is kept."""
    if path.purchases.exists():
        raise ConflictError("The path has purchases: it cannot be deleted", field="path", reason="has purchases")
    path.delete()


def _completed_course_ids(learner_id: Any, course_ids: list[Any]) -> set[Any]:
    return set(
        Assignment.objects.filter(learner_id=learner_id, course_id__in=course_ids, status=AssignmentStatus.COMPLETED).values_list(
            "course_id", flat=True
        )
    )


def path_enroll(
    *, tenant: Tenant, path: LearningPath, learner: Learner, source: str = "", assigned_by: str = ""
) -> tuple[PathEnrollment, bool]:
    """Enroll a learner in a path (`path.enrolled`) and in each of its courses not yet completed; twice is a no-op."""
    if not same_tenant(tenant, path, learner):
        raise NotFoundError("Path or learner not found")
    courses = [pc.course for pc in PathCourse.objects.filter(path=path).select_related("course")]
    unpublished = [c.title for c in courses if c.status != CourseStatus.PUBLISHED]
    if unpublished:
        raise ValidationFailed({"path_id": f"the path has courses that are not published: {', '.join(unpublished)}"})
    existing = PathEnrollment.objects.filter(path=path, learner=learner).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            enrollment = PathEnrollment.objects.create(tenant=tenant, path=path, learner=learner, source=source[:80])
            record(tenant=tenant, event_type="path.enrolled", data=path_enrollment_data(enrollment), subject_type="path_enrollment")
            done = _completed_course_ids(learner.pk, [c.pk for c in courses])
            for course in courses:
                if course.pk not in done:
                    assignment_create(
                        tenant=tenant, learner=learner, course=course, source=f"path:{path.pk}", assigned_by=assigned_by
                    )
            _complete_if_done(enrollment, [c.pk for c in courses])
    except IntegrityError:
        return PathEnrollment.objects.get(path=path, learner=learner), False
    return enrollment, True


def _complete(enrollment: PathEnrollment) -> None:
    enrollment.completed_at = timezone.now()
    enrollment.save(update_fields=["completed_at", "updated_at"])
    record(tenant=enrollment.tenant, event_type="path.completed", data=path_enrollment_data(enrollment), subject_type="path_enrollment")
    achievements_award_for(learner_id=enrollment.learner_id, path_id=enrollment.path_id, tenant=enrollment.tenant)


def _complete_if_done(enrollment: PathEnrollment, course_ids: list[Any]) -> None:
    if enrollment.completed_at is None and set(course_ids) <= _completed_course_ids(enrollment.learner_id, course_ids):
        _complete(enrollment)


def path_enrollments_check(*, tenant: Tenant, learner_id: Any, course_id: Any) -> None:
    """Complete the learner's open path enrollments whose every course is now completed (inside the completing transaction)."""
    open_enrollments = PathEnrollment.objects.select_for_update(of=("self",)).select_related("tenant").filter(
        tenant=tenant, learner_id=learner_id, completed_at__isnull=True, path__path_courses__course_id=course_id
    )
    for enrollment in open_enrollments:
        course_ids = list(PathCourse.objects.filter(path_id=enrollment.path_id).values_list("course_id", flat=True))
        _complete_if_done(enrollment, course_ids)


def path_enrollment_complete(*, enrollment: PathEnrollment) -> PathEnrollment:
    """Mark a path enrollment completed by an external call (`path.completed`); twice is a no-op."""
    with transaction.atomic():
        locked = PathEnrollment.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=enrollment.pk)
        if locked.completed_at is None:
            _complete(locked)
    return locked
