"""Inbound signals: the signed webhook, signals, needs, the signal map and readiness."""
from __future__ import annotations

from django.apps import AppConfig


class SignalsInboxConfig(AppConfig):
    name = "signals_inbox"
    verbose_name = "Signal inbox"
    default_auto_field = "django.db.models.BigAutoField"
