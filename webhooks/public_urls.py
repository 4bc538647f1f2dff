"""The public route of the outbound side: `GET /api/v1/event-types`."""

from __future__ import annotations

from django.urls import path

from webhooks import api

urlpatterns = [
    path("", api.EventTypeListApi.as_view(), name="event-types"),
]
