"""Learners and everything they learn."""
from __future__ import annotations

from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The actors connect the receivers of learning's signals (exports due), so every process that queues work sends it.
        from learning import actors  # noqa: F401
        from learning.training import receivers  # noqa: F401  (connects training to learning's signals)
