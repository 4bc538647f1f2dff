"""Learning routes under /api/v1/tenants/{slug}/."""
from __future__ import annotations

from django.urls import include, path

from learning import api

urlpatterns = [
    path("learners", api.LearnerListCreateApi.as_view(), name="learner-list"),
    path("learners/bulk", api.LearnerBulkApi.as_view(), name="learner-bulk"),
    path("learners/<str:learner_id>", api.LearnerDetailApi.as_view(), name="learner-detail"),
    path("courses", api.CourseListCreateApi.as_view(), name="course-list"),
    path("courses/<str:course_id>", api.CourseDetailApi.as_view(), name="course-detail"),
    path("courses/<str:course_id>/publish", api.CoursePublishApi.as_view(), name="course-publish"),
    path("assignments", api.AssignmentListCreateApi.as_view(), name="assignment-list"),
    path("assignments/<str:assignment_id>", api.AssignmentDetailApi.as_view(), name="assignment-detail"),
    path("assignments/<str:assignment_id>/complete", api.AssignmentCompleteApi.as_view(), name="assignment-complete"),
    path("", include("learning.evidence.urls")),
    path("", include("learning.training.urls")),
    path("", include("learning.roster.urls")),
]
