"""The signed signal webhook under /api/v1/integration/ (its own response shape, no API key)."""
from __future__ import annotations

from django.urls import path
from django.views.decorators.clickjacking import xframe_options_exempt

from signals_inbox.webhook import SignalWebhookApi

# A JSON answer to a machine is never framed: no X-Frame-Options header (APIView is CSRF-exempt already).
urlpatterns = [path("<str:slug>/webhook", xframe_options_exempt(SignalWebhookApi.as_view()), name="signal-webhook")]
