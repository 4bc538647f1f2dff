"""Feedback on courses and classes, and achievements: their definitions and awarding them (once)."""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from learning.models import Course, Learner
from learning.training.events import achievement_earned_data, feedback_created_data
from learning.training.models import Achievement, AchievementAward, Feedback, TrainingClass
from learning.training.services.common import clean_text, record, same_tenant
from skillhub.errors import ConflictError, NotFoundError, ValidationFailed
from tenants.models import Tenant


@transaction.atomic
def feedback_create(
    *,
    tenant: Tenant,
    learner: Learner,
    rating: int,
    comment: str = "",
    course: Course | None = None,
    training_class: TrainingClass | None = None,
) -> Feedback:
    """Record a learner's rating (1–5) and comment on a course or a class (`feedback.created`)."""
    if not same_tenant(tenant, learner, course, training_class):
        raise NotFoundError("Learner, course or class not found")
    if (course is None) == (training_class is None):
        raise ValidationFailed({"course_id": "give either a course or a class"})
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed({"rating": "a whole number from 1 to 5"})
    comment = clean_text({"comment": comment}, {"comment": 5000})["comment"]
    feedback = Feedback.objects.create(
        tenant=tenant, learner=learner, course=course, training_class=training_class, rating=rating, comment=comment
    )
    record(tenant=tenant, event_type="feedback.created", data=feedback_created_data(feedback), subject_type="feedback")
    return feedback


def feedback_delete(*, feedback: Feedback) -> None:
    """Delete a feedback entry (moderation)."""
    feedback.delete()


def _achievement_values(tenant: Tenant, values: dict[str, Any]) -> dict[str, Any]:
    values = clean_text(values, {"name": 200, "description": 0}, required=("name",))
    if not same_tenant(tenant, values.get("course"), values.get("path")):
        raise NotFoundError("Course or path not found")
    return values


def achievement_create(*, tenant: Tenant, values: dict[str, Any]) -> Achievement:
    """Define an achievement, earned on completing `course` or `path`, or awarded by hand when neither is given."""
    values = _achievement_values(tenant, values)
    if not values.get("name"):
        raise ValidationFailed({"name": "This field is required"})
    if values.get("course") and values.get("path"):
        raise ValidationFailed({"course_id": "give a course or a path, not both"})
    try:
        with transaction.atomic():
            return Achievement.objects.create(tenant=tenant, **values)
    except IntegrityError as exc:
        raise ConflictError("An achievement with this name exists", field="name", reason="already exists") from exc


def achievement_update(*, achievement: Achievement, values: dict[str, Any]) -> Achievement:
    """Change an achievement's name, description, course or path."""
    values = _achievement_values(achievement.tenant, values)
    for field, value in values.items():
        setattr(achievement, field, value)
    if achievement.course_id and achievement.path_id:
        raise ValidationFailed({"course_id": "give a course or a path, not both"})
    try:
        with transaction.atomic():
            achievement.save()
    except IntegrityError as exc:
        raise ConflictError("An achievement with this name exists", field="name", reason="already exists") from exc
    return achievement


def achievement_delete(*, achievement: Achievement) -> None:
    """Delete an achievement and its awards."""
    achievement.delete()


def achievement_award(
    *, achievement: Achievement, learner: Learner, reason: str = "manual", awarded_by: str = ""
) -> tuple[AchievementAward, bool]:
    """Award an achievement to a learner (`achievement.earned`); awarding it again changes and sends nothing."""
    if achievement.tenant_id != learner.tenant_id:
        raise NotFoundError("Learner not found")
    existing = AchievementAward.objects.filter(achievement=achievement, learner=learner).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            award = AchievementAward.objects.create(
                tenant_id=achievement.tenant_id, achievement=achievement, learner=learner, reason=reason, awarded_by=awarded_by[:200]
            )
            record(tenant=achievement.tenant, event_type="achievement.earned", data=achievement_earned_data(award), subject_type="achievement_award")
    except IntegrityError:
        return AchievementAward.objects.get(achievement=achievement, learner=learner), False
    return award, True


def achievements_award_for(*, tenant: Tenant, learner_id: Any, course_id: Any = None, path_id: Any = None) -> int:
    """Award the achievements earned by completing this course or path; return how many were new."""
    criteria = {"course_id": course_id} if course_id is not None else {"path_id": path_id}
    learner = Learner.objects.get(pk=learner_id)
    awarded = 0
    for achievement in Achievement.objects.select_related("tenant").filter(tenant=tenant, **criteria):
        _, created = achievement_award(achievement=achievement, learner=learner, reason="course" if course_id else "path")
        awarded += created
    return awarded


