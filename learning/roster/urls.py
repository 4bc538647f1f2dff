"""Group and site routes under /api/v1/tenants/{slug}/."""
from __future__ import annotations

from django.urls import path

from learning.roster import api

urlpatterns = [
    path("groups", api.GroupListCreateApi.as_view(), name="group-list"),
    path("groups/<str:group_id>", api.GroupDetailApi.as_view(), name="group-detail"),
    path("sites", api.SiteListCreateApi.as_view(), name="site-list"),
    path("sites/<str:site_id>", api.SiteDetailApi.as_view(), name="site-detail"),
]
