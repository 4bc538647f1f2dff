"""The public route of the outbound side: `GET /api/v1/event-types`."""

from __future__ import annotations

from django.urls import path

from webhooks.api.event_types import EventTypeListApi

urlpatterns = [
    path("", EventTypeListApi.as_view(), name="event-types"),
]
