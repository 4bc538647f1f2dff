"""The signed signal webhook under /api/v1/integration/ (its own response shape, no API key)."""
from __future__ import annotations

from django.urls import path

from signals_inbox.webhook import signal_webhook

urlpatterns = [path("<str:slug>/webhook", signal_webhook, name="signal-webhook")]
