"""Feedback routes (scope `enrollments`), achievements (scope `courses`) and their awards (scope `enrollments`)."""
from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from learning.models import Course, Learner
from learning.training.api.common import TrainingFilter, detail_view, list_create_view, related
from learning.training.api.serializers import (
    AchievementAwardInputSerializer,
    AchievementAwardSerializer,
    AchievementInputSerializer,
    AchievementSerializer,
    FeedbackInputSerializer,
    FeedbackSerializer,
)
from learning.training.models import Achievement, AchievementAward, Feedback, LearningPath, TrainingClass
from learning.training.services import engagement
from tenants.api.views import TenantApiView


class FeedbackFilter(TrainingFilter):
    learnerId = django_filters.UUIDFilter(field_name="learner_id")
    courseId = django_filters.UUIDFilter(field_name="course_id")
    classId = django_filters.UUIDFilter(field_name="training_class_id")
    rating = django_filters.NumberFilter()

    class Meta:
        model = Feedback
        fields: list[str] = []


class AchievementFilter(TrainingFilter):
    courseId = django_filters.UUIDFilter(field_name="course_id")
    pathId = django_filters.UUIDFilter(field_name="path_id")

    class Meta:
        model = Achievement
        fields: list[str] = []


class AchievementAwardFilter(TrainingFilter):
    achievementId = django_filters.UUIDFilter(field_name="achievement_id")
    learnerId = django_filters.UUIDFilter(field_name="learner_id")

    class Meta:
        model = AchievementAward
        fields: list[str] = []


def _create_feedback(view: TenantApiView, data: dict[str, Any]) -> Feedback:
    return engagement.feedback_create(
        tenant=view.tenant,
        learner=related(Learner, view.tenant, data["learnerId"], "learnerId"),
        course=related(Course, view.tenant, data.get("courseId"), "courseId"),
        training_class=related(TrainingClass, view.tenant, data.get("classId"), "classId"),
        rating=data["rating"],
        comment=data.get("comment", ""),
    )


FeedbackListApi = list_create_view(
    name="feedback", model=Feedback, scope="enrollments", output=FeedbackSerializer, filterset=FeedbackFilter,
    input_=FeedbackInputSerializer, create=_create_feedback, doc="List feedback, or record a rating (1–5) and comment on a course or a class.",
)
FeedbackDetailApi = detail_view(
    name="feedback", model=Feedback, scope="enrollments", output=FeedbackSerializer,
    delete=lambda feedback: engagement.feedback_delete(feedback=feedback),
)


def _achievement_values(tenant: Any, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {k: data[k] for k in ("name", "description") if k in data}
    if "courseId" in data:
        values["course"] = related(Course, tenant, data["courseId"], "courseId")
    if "pathId" in data:
        values["path"] = related(LearningPath, tenant, data["pathId"], "pathId")
    return values


AchievementListApi = list_create_view(
    name="achievements", model=Achievement, scope="courses", output=AchievementSerializer, filterset=AchievementFilter,
    input_=AchievementInputSerializer,
    create=lambda view, data: engagement.achievement_create(tenant=view.tenant, values=_achievement_values(view.tenant, data)),
    doc="List achievement definitions, or define one (earned on completing `courseId` or `pathId`, or awarded by hand).",
)
AchievementDetailApi = detail_view(
    name="achievements", model=Achievement, scope="courses", output=AchievementSerializer, input_=AchievementInputSerializer,
    update=lambda a, data: engagement.achievement_update(achievement=a, values=_achievement_values(a.tenant, data)),
    delete=lambda a: engagement.achievement_delete(achievement=a),
)


class AchievementAwardListApi(list_create_view(  # type: ignore[misc]
    name="achievement_awards", model=AchievementAward, scope="enrollments", output=AchievementAwardSerializer,
    filterset=AchievementAwardFilter,
)):
    """List achievements earned, or award one by hand (`achievement.earned`; awarding again changes nothing)."""

    @extend_schema(
        operation_id="achievement_awards_create",
        request=AchievementAwardInputSerializer,
        responses={
            201: OpenApiResponse(AchievementAwardSerializer, description="awarded now"),
            200: OpenApiResponse(AchievementAwardSerializer, description="already earned: nothing changed"),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        data = AchievementAwardInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        achievement = related(Achievement, self.tenant, data.validated_data["achievementId"], "achievementId")
        learner = related(Learner, self.tenant, data.validated_data["learnerId"], "learnerId")
        award, created = engagement.achievement_award(achievement=achievement, learner=learner, awarded_by=str(request.user))
        return Response(AchievementAwardSerializer(award).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


AchievementAwardDetailApi = detail_view(name="achievement_awards", model=AchievementAward, scope="enrollments", output=AchievementAwardSerializer)
