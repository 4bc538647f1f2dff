"""The admin app with the console's site as `admin.site`."""
from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """`django.contrib.admin`, whose default site is the console (every `@admin.register` lands there)."""

    default_site = "skillhub.console.site.ConsoleAdminSite"
