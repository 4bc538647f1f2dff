"""Signal-inbox routes under /api/v1/tenants/{slug}/ (API keys with needs:read / needs:write)."""
from __future__ import annotations

from django.urls import path

from signals_inbox import api

urlpatterns = [
    path("signals", api.SignalListApi.as_view(), name="signal-list"),
    path("signals/rejected", api.RejectedSignalListApi.as_view(), name="signal-rejected-list"),
    path("signals/rejected/<int:rejected_id>/reprocess", api.RejectedSignalReprocessApi.as_view(), name="signal-rejected-reprocess"),
    path("signals/<str:signal_id>", api.SignalDetailApi.as_view(), name="signal-detail"),
    path("needs", api.NeedListApi.as_view(), name="need-list"),
    path("needs/<str:need_id>", api.NeedDetailApi.as_view(), name="need-detail"),
    path("needs/<str:need_id>/offer", api.NeedOfferApi.as_view(), name="need-offer"),
    path("needs/<str:need_id>/author", api.NeedAuthorApi.as_view(), name="need-author"),
    path("needs/<str:need_id>/dismiss", api.NeedDismissApi.as_view(), name="need-dismiss"),
    path("readiness", api.ReadinessApi.as_view(), name="readiness"),
]
