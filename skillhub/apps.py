"""The project app: checks and shared API conventions."""
from __future__ import annotations

from django.apps import AppConfig


class SkillhubConfig(AppConfig):
    name = "skillhub"
    verbose_name = "skillhub"

    def ready(self) -> None:
        from skillhub import broker  # noqa: F401  (sets the global broker before any actor is declared)
        from skillhub import checks  # noqa: F401
