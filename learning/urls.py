"""Learning routes under /api/v1/tenants/{slug}/."""
from __future__ import annotations

from django.urls import path

from learning import api

urlpatterns = [
    path("learners", api.LearnerListCreateApi.as_view(), name="learner-list"),
    path("learners/<str:learner_id>", api.LearnerDetailApi.as_view(), name="learner-detail"),
]
