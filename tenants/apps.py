"""Tenants, plans, sites, groups, API keys and signal secrets."""
from __future__ import annotations

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants import audit

        audit.connect()
