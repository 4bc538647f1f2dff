"""Inbound signals: the signed webhook, signals, needs, the signal map and readiness."""
from __future__ import annotations

from django.apps import AppConfig


class SignalsInboxConfig(AppConfig):
    name = "signals_inbox"
    verbose_name = "Signal inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What the inbox reacts to, after commit (a failure is logged; the sweeps retry):
        # a learner write may match parked needs, a completion may close an offered need,
        # and a recorded signal goes to the resolution actor (`dispatch` connects itself).
        from signals_inbox import dispatch, receivers  # noqa: F401
