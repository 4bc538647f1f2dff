"""Skills-evidence routes under /api/v1/tenants/{slug}/ (included from learning/urls.py)."""
from __future__ import annotations

from django.urls import path

from learning.evidence.api import assessments, credentials, evidence, exports

urlpatterns = [
    path("evidence", evidence.EvidenceListUploadApi.as_view(), name="evidence-list"),
    path("evidence/<str:evidence_id>", evidence.EvidenceDetailApi.as_view(), name="evidence-detail"),
    path("evidence/<str:evidence_id>/download", evidence.EvidenceDownloadApi.as_view(), name="evidence-download"),
    path("tasks", evidence.TaskListApi.as_view(), name="task-list"),
    path("tasks/<str:task_id>", evidence.TaskDetailApi.as_view(), name="task-detail"),
    path("assessments", assessments.AssessmentListCreateApi.as_view(), name="assessment-list"),
    path("assessments/<str:assessment_id>", assessments.AssessmentDetailApi.as_view(), name="assessment-detail"),
    path(
        "assessments/<str:assessment_id>/moderation",
        assessments.AssessmentModerationApi.as_view(),
        name="assessment-moderation",
    ),
    path("moderations/<str:moderation_id>", assessments.ModerationDetailApi.as_view(), name="moderation-detail"),
    path("learners/<str:learner_id>/credentials", credentials.LearnerCredentialsApi.as_view(), name="learner-credentials"),
    path("credentials/<str:credential_id>", credentials.CredentialDetailApi.as_view(), name="credential-detail"),
    path("onboarding-steps", credentials.OnboardingStepListCreateApi.as_view(), name="onboarding-step-list"),
    path("learners/<str:learner_id>/onboarding", credentials.LearnerOnboardingApi.as_view(), name="learner-onboarding"),
    path(
        "learners/<str:learner_id>/onboarding/<str:step_id>",
        credentials.LearnerOnboardingStepApi.as_view(),
        name="learner-onboarding-step",
    ),
    path("exports", exports.ExportListCreateApi.as_view(), name="export-list"),
    path("exports/<str:export_id>", exports.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<str:export_id>/download", exports.ExportDownloadApi.as_view(), name="export-download"),
]
