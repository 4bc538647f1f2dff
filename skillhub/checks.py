"""Start-up checks of the environment-driven configuration."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from skillhub.db import is_postgres


@register()
def check_deployment(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Warn about embedded-only settings used against a scaled-out deployment."""
    problems: list[CheckMessage] = []
    if is_postgres() and settings.DRAMATIQ_BROKER == "embedded":
        problems.append(
            Warning(
                "DATABASE_URL is set but DRAMATIQ_BROKER_URL is not: background work runs only "
                "inside `manage.py serve`.",
                id="skillhub.W001",
            )
        )
    if settings.DRAMATIQ_BROKER not in ("embedded", "stub", "redis", "amqp"):
        problems.append(Error(f"Unsupported broker {settings.DRAMATIQ_BROKER!r}", id="skillhub.E001"))
    return problems
