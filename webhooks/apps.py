"""Outbound webhooks: event catalog, endpoints, outbox, deliveries and their actors."""
from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
