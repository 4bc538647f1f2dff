"""Outbound webhooks: event catalog, endpoints, outbox, deliveries and their actors."""
from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The actors connect the receiver of `outbox.deliveries_due`, so every process that records events enqueues them.
        from webhooks.engine import actors  # noqa: F401
