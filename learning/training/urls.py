"""Training-management routes under /api/v1/tenants/{slug}/."""
from __future__ import annotations

from django.urls import path

from learning.training.api import classes, commerce, content, engagement, paths, progress

urlpatterns = [
    path("courses/<str:pk>/archive", content.CourseArchiveApi.as_view(), name="course-archive"),
    path("lessons", content.LessonListApi.as_view(), name="lesson-list"),
    path("lessons/<str:pk>", content.LessonDetailApi.as_view(), name="lesson-detail"),
    path("quizzes", content.QuizListApi.as_view(), name="quiz-list"),
    path("quizzes/<str:pk>", content.QuizDetailApi.as_view(), name="quiz-detail"),
    path("assignments/<str:assignment_id>/lessons/<str:lesson_id>/complete", progress.LessonCompleteApi.as_view(), name="lesson-complete"),
    path("assignments/<str:assignment_id>/progress", progress.AssignmentProgressApi.as_view(), name="assignment-progress"),
    path("assignments/<str:assignment_id>/quiz-attempts", progress.QuizAttemptSubmitApi.as_view(), name="quiz-attempt-submit"),
    path("quiz-attempts", progress.QuizAttemptListApi.as_view(), name="quiz-attempt-list"),
    path("quiz-attempts/<str:pk>", progress.QuizAttemptDetailApi.as_view(), name="quiz-attempt-detail"),
    path("quiz-attempts/<str:pk>/grade", progress.QuizAttemptGradeApi.as_view(), name="quiz-attempt-grade"),
    path("training-settings", progress.TrainingSettingsApi.as_view(), name="training-settings"),
    path("paths", paths.PathListApi.as_view(), name="path-list"),
    path("paths/<str:pk>", paths.PathDetailApi.as_view(), name="path-detail"),
    path("path-enrollments", paths.PathEnrollmentListApi.as_view(), name="path-enrollment-list"),
    path("path-enrollments/<str:pk>", paths.PathEnrollmentDetailApi.as_view(), name="path-enrollment-detail"),
    path("path-enrollments/<str:pk>/complete", paths.PathEnrollmentCompleteApi.as_view(), name="path-enrollment-complete"),
    path("classes", classes.ClassListApi.as_view(), name="class-list"),
    path("classes/<str:pk>", classes.ClassDetailApi.as_view(), name="class-detail"),
    path("classes/<str:pk>/status", classes.ClassStatusApi.as_view(), name="class-status"),
    path("class-enrollments", classes.ClassEnrollmentListApi.as_view(), name="class-enrollment-list"),
    path("class-enrollments/<str:pk>", classes.ClassEnrollmentDetailApi.as_view(), name="class-enrollment-detail"),
    path("class-enrollments/<str:pk>/status", classes.ClassEnrollmentStatusApi.as_view(), name="class-enrollment-status"),
    path("feedback", engagement.FeedbackListApi.as_view(), name="feedback-list"),
    path("feedback/<str:pk>", engagement.FeedbackDetailApi.as_view(), name="feedback-detail"),
    path("achievements", engagement.AchievementListApi.as_view(), name="achievement-list"),
    path("achievements/<str:pk>", engagement.AchievementDetailApi.as_view(), name="achievement-detail"),
    path("achievement-awards", engagement.AchievementAwardListApi.as_view(), name="achievement-award-list"),
    path("achievement-awards/<str:pk>", engagement.AchievementAwardDetailApi.as_view(), name="achievement-award-detail"),
    # Before vouchers/<pk>, so "redeem" is never taken for an id.
    path("vouchers/redeem", commerce.VoucherRedeemApi.as_view(), name="voucher-redeem"),
    path("vouchers", commerce.VoucherListApi.as_view(), name="voucher-list"),
    path("vouchers/<str:pk>", commerce.VoucherDetailApi.as_view(), name="voucher-detail"),
    path("purchases", commerce.PurchaseListApi.as_view(), name="purchase-list"),
    path("purchases/<str:pk>", commerce.PurchaseDetailApi.as_view(), name="purchase-detail"),
    path("purchases/<str:pk>/fulfil", commerce.PurchaseFulfilApi.as_view(), name="purchase-fulfil"),
]
