"""Provisioning: SCIM 2.0 (RFC 7643/7644) and CSV imports, on top of the learning app's services."""
from __future__ import annotations

from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"
    default_auto_field = "django.db.models.BigAutoField"
